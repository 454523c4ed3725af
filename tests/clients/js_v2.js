// AWS SDK for JavaScript v2, driven by matrix.py:
//   node js_v2.js ENDPOINT BUCKET KEY PAYLOAD
// Credentials come from the SDK's default provider chain; it puts KEY,
// lists the bucket and gets KEY back, printing the keys and the body.
const AWS = require('aws-sdk');
const [endpoint, Bucket, Key, payload] = process.argv.slice(2);
const s3 = new AWS.S3({ endpoint, region: 'us-east-1', s3ForcePathStyle: true, signatureVersion: 'v4' });
(async () => {
  await s3.putObject({ Bucket, Key, Body: payload }).promise();
  const listed = await s3.listObjectsV2({ Bucket }).promise();
  console.log(listed.Contents.map((o) => o.Key).join(' '));
  const got = await s3.getObject({ Bucket, Key }).promise();
  console.log(got.Body.toString());
})().catch((e) => { console.error(`${e.code || e.name}: ${e.message}`); process.exit(1); });
