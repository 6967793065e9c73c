'use strict';

// s3rver (the local S3 stand-in), started as its own CLI starts it, plus the one request its
// router answers NotImplemented: UploadPartCopy, a part of a multipart upload copied from a
// byte range of another object inside the server. It runs after s3rver's own authentication,
// bucket check and query checks, and leaves the part where s3rver's store keeps parts, so it
// is completed like any other. As S3 does: the range is `bytes=first-last` (zero-based,
// inclusive), the part's ETag is the MD5 of its bytes, and the answer is a CopyPartResult.
//
// And completion without a second pass over the bytes. s3rver reads, hashes and rewrites every
// byte of an upload when it is completed; here an upload of a single part becomes the object by
// renaming the part's file (the object, its metadata and its ETag, the MD5 of the content, are
// what s3rver would have made), and one of several parts by appending the parts' files to it on
// a worker thread, with the ETag S3 gives a multipart object: the MD5 of the parts' MD5s, a
// dash and the number of parts (s3rver's own is the MD5 of the whole content, which S3 never
// gives). Files are read in 1 MiB pieces rather than node's 64 KiB.
//
// And deletes that run at once (DeleteObjects) without failing on the folders they share.
//
//   node local/stack/s3rver.js -d DIR [-a ADDRESS] [-p PORT] [--allow-mismatched-signatures] [--silent]

const fs = require('fs');
const path = require('path');
const { createHash } = require('crypto');
const { Worker } = require('worker_threads');

const modules = process.env.S3RVER_NODE_MODULES || path.join(__dirname, '..', '..', 'node_modules');
const S3rver = require(path.join(modules, 's3rver'));
const router = require(path.join(modules, 's3rver', 'lib', 'routes'));
const S3Error = require(path.join(modules, 's3rver', 'lib', 'models', 'error'));
const S3Object = require(path.join(modules, 's3rver', 'lib', 'models', 'object'));
const FilesystemStore = require(path.join(modules, 's3rver', 'lib', 'stores', 'filesystem'));

const OBJECT_ROUTE = '/:bucket/:key+';
const COPY_BLOCK = 4 * 1024 * 1024;
const COPIERS = 2; // worker threads copying parts
const READ_PIECE = 1024 * 1024;
const MAX_PART = 5 * 1024 * 1024 * 1024; // S3 copies at most 5 GiB into one part
const RANGE_FORM =
  'The x-amz-copy-source-range value must be of the form bytes=first-last where first and ' +
  'last are the zero-based offsets of the first and last bytes to copy';

function parseArguments(argv) {
  const options = { address: 'localhost', port: 4568, silent: false };
  for (let index = 0; index < argv.length; index++) {
    const name = argv[index];
    if (name === '-d' || name === '--directory') options.directory = argv[++index];
    else if (name === '-a' || name === '--address') options.address = argv[++index];
    else if (name === '-p' || name === '--port') options.port = Number(argv[++index]);
    else if (name === '-s' || name === '--silent') options.silent = true;
    else if (name === '--allow-mismatched-signatures') options.allowMismatchedSignatures = true;
    else throw new Error(`unknown option ${name}`);
  }
  if (!options.directory) throw new Error('-d DIRECTORY is required');
  fs.mkdirSync(options.directory, { recursive: true });
  return options;
}

// "/bucket/key" or "bucket/key", URL-encoded, perhaps with "?versionId=".
function copySource(header) {
  const [location, query] = header.split('?');
  if (query) {
    throw new S3Error('NotImplemented', 'Copying a version of an object is not implemented');
  }
  const decoded = decodeURIComponent(location).replace(/^\//, '');
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: header,
    });
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

function byteRange(header, size) {
  if (header === undefined) return { start: 0, end: size - 1 };
  const match = /^bytes=(\d+)-(\d+)$/.exec(header);
  if (!match) {
    throw new S3Error('InvalidArgument', RANGE_FORM, {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: header,
    });
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start > end || end >= size) {
    throw new S3Error('InvalidArgument', `Range specified is not valid for source object of size: ${size}`, {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: header,
    });
  }
  if (end - start + 1 > MAX_PART) {
    throw new S3Error('InvalidRequest', 'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120');
  }
  return { start, end };
}

// Worker threads that copy in large blocks: a part copied from a range, left as s3rver's
// store.putPart leaves one (its bytes, and their MD5 beside them), and an upload's parts
// appended into its object. On s3rver's one thread, either would stall every other request
// it serves meanwhile.
const COPIER = `
const { parentPort } = require('worker_threads');
const { createHash } = require('crypto');
const fs = require('fs');

function append(sources, targetPath, block) {
  const buffer = Buffer.allocUnsafe(block);
  const target = fs.openSync(targetPath, 'w');
  let size = 0;
  try {
    for (const sourcePath of sources) {
      const source = fs.openSync(sourcePath, 'r');
      try {
        for (let read; (read = fs.readSync(source, buffer, 0, block, null)) > 0; ) {
          fs.writeSync(target, buffer, 0, read);
          size += read;
        }
      } finally {
        fs.closeSync(source);
      }
    }
  } finally {
    fs.closeSync(target);
  }
  return size;
}

function copyPart(sourcePath, start, end, partPath, block) {
  const hash = createHash('md5');
  const buffer = Buffer.allocUnsafe(Math.min(block, end - start + 1));
  const source = fs.openSync(sourcePath, 'r');
  try {
    const target = fs.openSync(partPath, 'w');
    try {
      for (let position = start; position <= end; ) {
        const read = fs.readSync(source, buffer, 0, Math.min(buffer.length, end + 1 - position), position);
        if (read === 0) throw new Error(sourcePath + ' ended before byte ' + position);
        hash.update(buffer.subarray(0, read));
        fs.writeSync(target, buffer, 0, read);
        position += read;
      }
    } finally {
      fs.closeSync(target);
    }
  } finally {
    fs.closeSync(source);
  }
  const md5 = hash.digest('hex');
  fs.writeFileSync(partPath + '.md5', md5);
  return md5;
}

parentPort.on('message', ({ id, sourcePath, start, end, partPath, block, sources }) => {
  try {
    const result = sources
      ? { size: append(sources, partPath, block) }
      : { md5: copyPart(sourcePath, start, end, partPath, block) };
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: err.message });
  }
});
`;

const copiers = [];
const waiting = new Map();
let lastId = 0;

function copier() {
  if (copiers.length < COPIERS) {
    const worker = new Worker(COPIER, { eval: true });
    worker.pending = 0;
    worker.on('message', ({ id, result, error }) => {
      worker.pending -= 1;
      const { resolve, reject } = waiting.get(id);
      waiting.delete(id);
      if (error) reject(new Error(error));
      else resolve(result);
    });
    worker.unref();
    copiers.push(worker);
    return worker;
  }
  return copiers.reduce((best, worker) => (worker.pending < best.pending ? worker : best));
}

function onCopier(message) {
  const id = ++lastId;
  const worker = copier();
  worker.pending += 1;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, block: COPY_BLOCK, ...message });
  });
}

// Resolves to the part's MD5 (hex).
async function copyRange(sourcePath, range, partPath) {
  return (await onCopier({ sourcePath, start: range.start, end: range.end, partPath })).md5;
}

// Resolves to the size of the file made of the sources, one after the other.
async function appendFiles(sources, targetPath) {
  return (await onCopier({ sources, partPath: targetPath })).size;
}

async function uploadPartCopy(ctx, next) {
  if (ctx.params.queryMethod !== 'uploadId' || !('x-amz-copy-source' in ctx.headers)) {
    return next();
  }
  const { store } = ctx;
  const uploadId = ctx.query.uploadId;
  const partNumber = Number(ctx.query.partNumber);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: String(ctx.query.partNumber),
    });
  }
  const uploadDir = path.join(store.getResourcePath(ctx.params.bucket, undefined, 'uploads'), uploadId);
  if (!fs.existsSync(path.join(uploadDir, 'key'))) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    );
  }
  const source = copySource(ctx.headers['x-amz-copy-source']);
  if (!(await store.getBucket(source.bucket))) {
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: source.bucket });
  }
  let metadata;
  try {
    metadata = await store.getMetadata(source.bucket, source.key);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: source.key });
  }
  const range = byteRange(ctx.headers['x-amz-copy-source-range'], Number(metadata['content-length']));
  const partPath = path.join(uploadDir, String(partNumber));
  const md5 = await copyRange(store.getResourcePath(source.bucket, source.key, 'object'), range, partPath);
  ctx.logger.info(
    'Copied bytes %d-%d of "%s" in bucket "%s" into part %d of %s',
    range.start,
    range.end,
    source.key,
    source.bucket,
    partNumber,
    uploadId,
  );
  ctx.body = {
    CopyPartResult: {
      LastModified: new Date().toISOString(),
      ETag: JSON.stringify(md5),
    },
  };
}

// Answered before s3rver's own PUT on objects (which refuses a copy source with uploadId), and
// after the middleware registered for every object route (authentication, the bucket's
// existence, conflicting query methods).
function install() {
  router.put(OBJECT_ROUTE, uploadPartCopy);
  const added = router.stack.pop();
  const index = router.stack.findIndex(
    layer => layer.path === OBJECT_ROUTE && layer.methods.includes('PUT'),
  );
  if (index < 0) throw new Error("s3rver's router has no PUT route for objects");
  router.stack.splice(index, 0, added);
}

// A delete that races others. s3rver's own removes the object's files, then each folder above
// them it finds empty; DeleteObjects deletes its keys at once, so two keys of one folder both
// found it empty and the second removal failed (ENOENT), a 500 for the whole request. Here a
// folder another delete removed first, or that a write filled again (ENOTEMPTY), ends the walk.
FilesystemStore.prototype.deleteObject = async function deleteTolerantly(bucket, key) {
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map(kind =>
      fs.promises.rm(this.getResourcePath(bucket, key, kind), { force: true }),
    ),
  );
  const bucketPath = this.getBucketPath(bucket);
  const folders = key.split('/').slice(0, -1); // the last part names the files, not a folder
  for (; folders.length; folders.pop()) {
    try {
      await fs.promises.rmdir(path.join(bucketPath, ...folders)); // only an empty one goes
    } catch (error) {
      if (['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(error.code)) return;
      throw error;
    }
  }
};

const putObjectMultipart = FilesystemStore.prototype.putObjectMultipart;

FilesystemStore.prototype.putObjectMultipart = async function completeInPlace(bucket, uploadId, parts) {
  if (parts.length > 1) return completeFromParts.call(this, bucket, uploadId, parts);
  if (parts.length !== 1) return putObjectMultipart.call(this, bucket, uploadId, parts);
  const uploadDir = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const partPath = path.join(uploadDir, String(parts[0].number));
  const [key, metadata, md5] = await Promise.all([
    fs.promises.readFile(path.join(uploadDir, 'key'), 'utf8'),
    fs.promises.readFile(path.join(uploadDir, 'metadata'), 'utf8').then(JSON.parse),
    fs.promises.readFile(`${partPath}.md5`, 'utf8'),
  ]);
  const objectPath = this.getResourcePath(bucket, key, 'object');
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  await fs.promises.rename(partPath, objectPath);
  const { size } = await fs.promises.stat(objectPath);
  // The metadata as s3rver keeps it for any object (its defaults filled in).
  await this.putMetadata(bucket, key, new S3Object(bucket, key, null, metadata).metadata, md5);
  await fs.promises.rm(uploadDir, { recursive: true, force: true });
  return { size, md5 };
};

async function completeFromParts(bucket, uploadId, parts) {
  const uploadDir = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const ordered = [...parts].sort((a, b) => a.number - b.number);
  const partPaths = ordered.map(part => path.join(uploadDir, String(part.number)));
  const [key, metadata, md5s] = await Promise.all([
    fs.promises.readFile(path.join(uploadDir, 'key'), 'utf8'),
    fs.promises.readFile(path.join(uploadDir, 'metadata'), 'utf8').then(JSON.parse),
    Promise.all(partPaths.map(partPath => fs.promises.readFile(`${partPath}.md5`, 'utf8'))),
  ]);
  const objectPath = this.getResourcePath(bucket, key, 'object');
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  // Appended beside the object and renamed over it, so a GET meanwhile sees the old object.
  const size = await appendFiles(partPaths, `${objectPath}.completing`);
  await fs.promises.rename(`${objectPath}.completing`, objectPath);
  const digests = Buffer.concat(md5s.map(md5 => Buffer.from(md5.trim(), 'hex')));
  const md5 = `${createHash('md5').update(digests).digest('hex')}-${parts.length}`;
  await this.putMetadata(bucket, key, new S3Object(bucket, key, null, metadata).metadata, md5);
  await fs.promises.rm(uploadDir, { recursive: true, force: true });
  return { size, md5 };
}

// s3rver reads files in node's default 64 KiB pieces; a GET of a large object then costs its
// one thread many times what 1 MiB pieces do.
// The fs-extra that s3rver's store itself loads.
const fsExtra = require(
  require.resolve('fs-extra', { paths: [path.join(modules, 's3rver', 'lib', 'stores')] }),
);
const createReadStream = fsExtra.createReadStream;
fsExtra.createReadStream = (file, options) =>
  typeof options === 'string'
    ? createReadStream(file, options)
    : createReadStream(file, { highWaterMark: READ_PIECE, ...options });

async function main() {
  install();
  const options = parseArguments(process.argv.slice(2));
  const { address, port } = await new S3rver(options).run();
  console.log('S3rver listening on %s:%d (with UploadPartCopy)', address, port);
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
