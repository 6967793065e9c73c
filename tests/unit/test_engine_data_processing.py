"""DataProcessing on JSON and CSV records: InputFilter, JoinSource and OutputFilter."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from local.engine.data_processing import (
    DataProcessing,
    DataProcessingError,
    assemble_output,
    filter_input,
)

JSON = "application/json"
CSV = "text/csv"


def dp(
    *,
    input_filter: str = "$",
    output_filter: str = "$",
    join_source: str = "None",
    content_type: str = JSON,
    accept: str | None = None,
) -> DataProcessing:
    return DataProcessing(
        input_filter=input_filter,
        output_filter=output_filter,
        join_source=join_source,
        content_type=content_type,
        accept=accept or content_type,
    )


def request(processing: dict[str, str] | None, content_type: str = CSV, **output: str) -> Any:
    body: dict[str, Any] = {
        "TransformInput": {"ContentType": content_type, "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": "s3://bucket/out/", **output},
    }
    if processing is not None:
        body["DataProcessing"] = processing
    return body


# from_request


@pytest.mark.parametrize(
    "processing",
    [
        None,
        {},
        {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"},
        {"InputFilter": ""},
    ],
)
def test_default_data_processing_is_none_so_the_engine_skips_it(
    processing: dict[str, str] | None,
) -> None:
    # the content type would be refused if DataProcessing were active
    assert DataProcessing.from_request(request(processing, "image/jpeg")) is None


def test_request_data_processing_is_read_with_plain_media_types() -> None:
    found = DataProcessing.from_request(
        request(
            {"InputFilter": "$[1:]", "JoinSource": "Input"},
            "text/csv; charset=utf-8",
            Accept="Application/JSON",
        )
    )

    assert found == dp(input_filter="$[1:]", join_source="Input", content_type=CSV, accept=JSON)


def test_request_without_accept_takes_the_content_type_for_the_answers() -> None:
    found = DataProcessing.from_request(request({"OutputFilter": "$[0]"}, CSV))

    assert found is not None
    assert found.accept == CSV


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"content_type": "application/x-recordio"},
            "the content_type is 'application/x-recordio'",
        ),
        ({"accept": "text/plain"}, "the accept is 'text/plain'"),
        ({"join_source": "Output"}, "JoinSource 'Output' is not None or Input"),
        ({"input_filter": "features"}, "JSONPath 'features' must start with '\\$'"),
    ],
)
def test_invalid_data_processing_is_refused_naming_the_setting(
    settings: dict[str, str], message: str
) -> None:
    with pytest.raises(DataProcessingError, match=message):
        dp(**settings)


def test_identity_properties_follow_the_settings() -> None:
    assert dp().is_identity_input and dp().is_identity_output
    assert not dp(input_filter="$.a").is_identity_input
    assert not dp(output_filter="$.a").is_identity_output
    assert not dp(join_source="Input").is_identity_output
    assert dp(join_source="Input").joins


# InputFilter on JSON


RECORD = {"id": 7, "features": [1, 2, 3, 4, 5], "meta": {"source": "é", "tags": ["a", "b"]}}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$.features", [1, 2, 3, 4, 5]),
        ("$.meta.source", "é"),
        ("$['features','id']", {"features": [1, 2, 3, 4, 5], "id": 7}),
        ("$['id']", 7),
        ("$.*", [7, [1, 2, 3, 4, 5], {"source": "é", "tags": ["a", "b"]}]),
        ("$.features[*]", [1, 2, 3, 4, 5]),
        ("$.features[1]", 2),
        ("$.features[-1]", 5),
        ("$.features[1,3]", [2, 4]),
        ("$.features[3,1]", [4, 2]),
        ("$.features[1:3]", [2, 3]),
        ("$.features[:2]", [1, 2]),
        ("$.features[3:]", [4, 5]),
        ("$.features[-2:]", [4, 5]),
        ("$.features[0,3:]", [1, 4, 5]),
        ("$.features[2:100]", [3, 4, 5]),
        ("$.features[1:1]", []),
        ("$.features[0:1]", [1]),
        ("$.meta.tags[*]", ["a", "b"]),
    ],
)
def test_json_input_filter_selects_per_jsonpath(expression: str, expected: Any) -> None:
    filtered = filter_input(json.dumps(RECORD).encode(), dp(input_filter=expression))

    assert json.loads(filtered) == expected


def test_name_list_keeps_the_order_given() -> None:
    filtered = filter_input(b'{"a":1,"b":2,"c":3}', dp(input_filter="$['c','a']"))

    assert filtered == b'{"c":3,"a":1}'


def test_path_after_a_wildcard_applies_to_every_member() -> None:
    record = b'{"data":[{"id":1,"x":0},{"id":2,"x":0}]}'

    assert filter_input(record, dp(input_filter="$.data[*].id")) == b"[1,2]"


def test_single_index_after_a_wildcard_or_slice_still_gives_a_list() -> None:
    record = b"[[1,2],[3,4]]"

    assert filter_input(record, dp(input_filter="$[*][0]")) == b"[1,3]"
    assert filter_input(record, dp(input_filter="$[1:][-1]")) == b"[4]"


def test_indexes_apply_to_a_top_level_json_array() -> None:
    assert filter_input(b"[10,20,30]", dp(input_filter="$[0,-1]")) == b"[10,30]"
    assert filter_input(b"[10,20,30]", dp(input_filter="$[1]")) == b"20"


def test_filtered_json_is_compact_and_keeps_non_ascii() -> None:
    record = '{"name": "Zoë", "v": [1, 2.5, null, true]}'.encode()

    assert filter_input(record, dp(input_filter="$['v','name']")) == (
        '{"v":[1,2.5,null,true],"name":"Zoë"}'.encode()
    )


def test_json_lines_record_keeps_its_newline() -> None:
    processing = dp(input_filter="$.a", content_type="application/jsonlines")

    assert filter_input(b'{"a":[1]}\n', processing) == b"[1]\n"
    assert filter_input(b'{"a":[1]}', processing) == b"[1]"


def test_identity_input_filter_sends_the_record_byte_for_byte() -> None:
    record = b'{ "a" : 1.50 }\n'

    assert filter_input(record, dp()) is record


# InputFilter on CSV


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$[0]", b"id-1\n"),
        ("$[1]", b'"x, y"\n'),
        ("$[-1]", b"4\n"),
        ("$[1:]", b'"x, y",3,4\n'),
        ("$[:2]", b'id-1,"x, y"\n'),
        ("$[-2:]", b"3,4\n"),
        ("$[0,-1]", b"id-1,4\n"),
        ("$[3,0]", b"4,id-1\n"),
        ("$[0,2:]", b"id-1,3,4\n"),
        ("$[*]", b'id-1,"x, y",3,4\n'),
    ],
)
def test_csv_input_filter_selects_columns(expression: str, expected: bytes) -> None:
    record = b'id-1,"x, y",3,4\n'

    assert filter_input(record, dp(input_filter=expression, content_type=CSV)) == expected


def test_csv_cells_with_quotes_are_quoted_again() -> None:
    record = b'1,"say ""hi""",2\n'

    assert filter_input(record, dp(input_filter="$[1:]", content_type=CSV)) == b'"say ""hi""",2\n'


def test_csv_line_without_newline_stays_without_one() -> None:
    assert filter_input(b"1,2,3", dp(input_filter="$[1:]", content_type=CSV)) == b"2,3"


def test_csv_line_with_crlf_keeps_it() -> None:
    assert filter_input(b"1,2,3\r\n", dp(input_filter="$[1:]", content_type=CSV)) == b"2,3\r\n"


# Errors


@pytest.mark.parametrize(
    ("expression", "record", "message"),
    [
        ("$[7]", b"1,2,3,4,5\n", "index 7 is outside the record of 5 columns"),
        ("$[-6]", b"1,2,3,4,5\n", "index -6 is outside the record of 5 columns"),
        ("$[0,5]", b"1,2,3,4,5\n", "index 5 is outside the record of 5 columns"),
        ("$[0]", b"\n", "index 0 is outside the record of 0 columns"),
        ("$.id", b"1,2\n", "'id' is a member name, but a CSV record has only columns"),
        ("$[0][0]", b"1,2\n", r"indexes need an array, but \$\[0\] is a string"),
    ],
)
def test_csv_filter_errors_name_the_problem_and_the_record(
    expression: str, record: bytes, message: str
) -> None:
    with pytest.raises(
        DataProcessingError, match=f"^InputFilter '.*': {message}, in record"
    ) as caught:
        filter_input(record, dp(input_filter=expression, content_type=CSV))

    assert caught.value.record == record


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("$.features[5]", r"index 5 is outside the array of 5 elements at \$.features"),
        ("$.features[-6]", r"index -6 is outside the array of 5 elements at \$.features"),
        ("$.label", r"'label' is not a member of the object at \$"),
        ("$['id','label']", r"'label' is not a member of the object at \$"),
        ("$.id.value", r"'value' needs an object, but \$.id is a number"),
        ("$[0]", r"indexes need an array, but \$ is an object"),
        ("$.id[*]", r"'\*' needs an object or array, but \$.id is a number"),
    ],
)
def test_json_filter_errors_name_the_problem_and_the_record(expression: str, message: str) -> None:
    record = json.dumps(RECORD).encode()

    with pytest.raises(DataProcessingError, match=f'{message}, in record \'{{"id": 7'):
        filter_input(record, dp(input_filter=expression))


def test_record_that_is_not_json_is_an_error() -> None:
    with pytest.raises(DataProcessingError, match="record 'id,1' is not JSON"):
        filter_input(b"id,1\n", dp(input_filter="$.id"))


def test_csv_line_with_an_unclosed_quote_is_an_error() -> None:
    with pytest.raises(DataProcessingError, match="is not a CSV line"):
        filter_input(b'1,"abc\n', dp(input_filter="$[0]", content_type=CSV))


def test_long_record_is_shortened_in_the_message() -> None:
    with pytest.raises(DataProcessingError) as caught:
        filter_input(b"1," * 1000 + b"1\n", dp(input_filter="$[5000]", content_type=CSV))

    assert len(str(caught.value)) < 200
    assert len(caught.value.record) == 2002


# JoinSource and OutputFilter


def test_json_join_puts_the_output_into_the_input_object() -> None:
    joined = assemble_output(b'{"id":1,"x":[3]}\n', b'{"score":0.9}\n', dp(join_source="Input"))

    assert joined == b'{"id":1,"x":[3],"SageMakerOutput":{"score":0.9}}\n'


@pytest.mark.parametrize("input_record", [b"[1,2]", b"5", b'"text"', b"null"])
def test_json_join_of_a_non_object_input_wraps_both(input_record: bytes) -> None:
    joined = assemble_output(input_record, b"0.9", dp(join_source="Input"))

    assert json.loads(joined) == {
        "SageMakerInput": json.loads(input_record),
        "SageMakerOutput": 0.9,
    }


def test_csv_join_appends_the_output_columns_to_the_input() -> None:
    processing = dp(join_source="Input", content_type=CSV)

    assert assemble_output(b"1,2,3\n", b"0.9\n", processing) == b"1,2,3,0.9\n"
    assert assemble_output(b'a,"b, c"\n', b"0.1,0.9\n", processing) == b'a,"b, c",0.1,0.9\n'


def test_csv_join_output_filter_selects_from_the_joined_record() -> None:
    processing = dp(join_source="Input", output_filter="$[0,-1]", content_type=CSV)

    assert assemble_output(b"1,2,3\n", b"0.9\n", processing) == b"1,0.9\n"


def test_join_uses_the_unfiltered_input_the_model_did_not_see() -> None:
    processing = dp(input_filter="$[1:]", join_source="Input", content_type=CSV)
    record = b"id-7,2,3\n"

    assert filter_input(record, processing) == b"2,3\n"
    assert assemble_output(record, b"0.9\n", processing) == b"id-7,2,3,0.9\n"


def test_json_join_output_filter_picks_members_of_the_joined_object() -> None:
    processing = dp(join_source="Input", output_filter="$['id','SageMakerOutput']")

    joined = assemble_output(b'{"id":1,"features":[1,2]}', b'{"label":1}', processing)

    assert joined == b'{"id":1,"SageMakerOutput":{"label":1}}'


def test_output_filter_without_join_selects_from_the_output_alone() -> None:
    assert assemble_output(
        b'{"id":1}', b'{"label":1,"score":0.9}\n', dp(output_filter="$.score")
    ) == (b"0.9\n")
    csv_processing = dp(output_filter="$[1]", content_type=CSV)
    assert assemble_output(b"1,2\n", b"cat,0.9\n", csv_processing) == b"0.9\n"


def test_output_filter_out_of_range_on_the_joined_record_is_an_error() -> None:
    processing = dp(join_source="Input", output_filter="$[4]", content_type=CSV)

    with pytest.raises(
        DataProcessingError,
        match=r"^OutputFilter '\$\[4\]': index 4 is outside the record of 4 columns, "
        r"in record '1,2,3' joined with output '0.9'$",
    ):
        assemble_output(b"1,2,3\n", b"0.9\n", processing)


def test_output_without_join_or_filter_is_written_byte_for_byte() -> None:
    output = b'{ "score" : 0.90 }'

    assert assemble_output(b"{}", output, dp(input_filter="$.a")) is output


def test_mixed_formats_join_in_the_input_format() -> None:
    # a CSV line is the JSON array of its cells, and a JSON array's elements are CSV columns
    json_in = dp(join_source="Input", content_type=JSON, accept=CSV)
    csv_in = dp(join_source="Input", content_type=CSV, accept=JSON)

    assert (
        assemble_output(b'{"id":1}', b"cat,0.9", json_in)
        == b'{"id":1,"SageMakerOutput":["cat","0.9"]}'
    )
    assert assemble_output(b"1,2", b'[0.1,"x, y"]', csv_in) == b'1,2,0.1,"x, y"'
    assert assemble_output(b"1", b'{"a":1}', csv_in) == b'1,"{""a"":1}"'


def test_data_processing_error_survives_pickling_for_worker_processes() -> None:
    error = DataProcessingError("OutputFilter '$[4]': index 4 is outside", b"1,2,3\n")

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)

    assert (str(copy), copy.record) == (str(error), error.record)
