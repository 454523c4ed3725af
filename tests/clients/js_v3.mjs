// AWS SDK for JavaScript v3 (@aws-sdk/client-s3), as js_v2.js:
//   node js_v3.mjs ENDPOINT BUCKET KEY PAYLOAD   (ENDPOINT "": the SDK finds its own,
//   AWS_ENDPOINT_URL_S3 or a profile's `services` section)
// Credentials come from the SDK's default provider chain; it puts KEY,
// lists the bucket and gets KEY back, printing the keys and the body.
import { S3Client, PutObjectCommand, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
const [endpoint, Bucket, Key, payload] = process.argv.slice(2);
const s3 = new S3Client({ endpoint: endpoint || undefined, region: process.env.AWS_REGION || 'us-east-1', forcePathStyle: true });
try {
  await s3.send(new PutObjectCommand({ Bucket, Key, Body: payload }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
  console.log((listed.Contents || []).map((o) => o.Key).join(' '));
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  console.log(await got.Body.transformToString());
} catch (e) {
  console.error(`${e.name}: ${e.message}`);
  process.exit(1);
}
