"""Sets radosgw up for the enforcement tests, as the `ci` user: a role the
server may assume (radosgw has no AttachRolePolicy, so s3:* is given with
PutRolePolicy), two buckets and a few objects. Policy JSON is compact:
radosgw refuses documents with whitespace."""
import json
import sys

import boto3

endpoint, role, max_secs = sys.argv[1], sys.argv[2], int(sys.argv[3])
kw = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="CIACCESSKEY0000000001",
    aws_secret_access_key="cisecret0000000000000000000000000000000",
)
compact = dict(separators=(",", ":"))
iam, s3 = boto3.client("iam", **kw), boto3.client("s3", **kw)
trust = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam:::user/ci"]},
            "Action": ["sts:AssumeRole"],
        }
    ],
}
iam.create_role(
    RoleName=role,
    AssumeRolePolicyDocument=json.dumps(trust, **compact),
    MaxSessionDuration=max_secs,
)
everything = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}],
}
iam.put_role_policy(
    RoleName=role, PolicyName="s3-all", PolicyDocument=json.dumps(everything, **compact)
)
for bucket in ["main", "other"]:
    s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket="main", Key="hello.txt", Body=b"hello")
s3.put_object(Bucket="main", Key="reports/r1.txt", Body=b"report one")
s3.put_object(Bucket="other", Key="secret.txt", Body=b"not yours")
print("SETUP DONE")
