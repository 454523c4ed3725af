"""Tries S3 operations with boto3, credentials from the server's /ecs
(AWS_CONTAINER_CREDENTIALS_FULL_URI), and prints {name: "allowed" | "refused:CODE"}.
argv: endpoint, then a JSON list of [name, op, bucket, key-or-prefix]."""
import json
import sys

import boto3
import botocore.exceptions

s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
ops = {
    "get": lambda b, k: s3.get_object(Bucket=b, Key=k)["Body"].read(),
    "list": lambda b, p: s3.list_objects_v2(Bucket=b, Prefix=p),
    "put": lambda b, k: s3.put_object(Bucket=b, Key=k, Body=b"written by boto3"),
    "delete": lambda b, k: s3.delete_object(Bucket=b, Key=k),
}
result = {}
for name, op, bucket, arg in json.loads(sys.argv[2]):
    try:
        ops[op](bucket, arg)
        result[name] = "allowed"
    except botocore.exceptions.ClientError as e:
        result[name] = "refused:" + e.response["Error"]["Code"]
print(json.dumps(result))
