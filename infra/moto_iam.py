"""moto server that enforces IAM as AWS does for the calls this service makes.

moto checks an identity's policies only against the action a request names and, for DynamoDB,
against no resource at all ("*"). AWS decides DynamoDB per table and index, and a transaction
per item: a `TransactWriteItems` needs `PutItem`, `UpdateItem`, `DeleteItem` or
`ConditionCheckItem` on each item's table, and there is no `TransactWriteItems` permission.
This module teaches moto's DynamoDB handler those rules, then serves:

    python infra/moto_iam.py PORT STATE_DIR

Until the first identity exists nothing is checked; the server then creates an administrator
(Allow * on *), writes its access key to STATE_DIR/admin.json and from then on checks every
request. S3 (object ARNs; presigned URLs as their signer) and SQS (queue ARNs) are checked
by moto itself.
"""

import json
import sys
import threading
from pathlib import Path

import boto3
from moto import settings
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import IAMRequest, S3IAMRequest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.s3.responses import S3Response

# The item actions of a transaction, by the member that names them.
TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def table_arn(handler, table, index=None):
    arn = f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def checks(handler, action, body):
    """(action, resource) pairs that AWS authorises for one DynamoDB request."""
    if action == "TransactWriteItems":
        for item in body.get("TransactItems", []):
            for member, item_action in TRANSACT_WRITE.items():
                if member in item:
                    yield item_action, table_arn(handler, item[member]["TableName"])
    elif action == "TransactGetItems":
        for item in body.get("TransactItems", []):
            yield "GetItem", table_arn(handler, item["Get"]["TableName"])
    elif action in ("BatchWriteItem", "BatchGetItem"):
        for table in body.get("RequestItems", {}):
            yield action, table_arn(handler, table)
    elif "TableName" in body:
        yield action, table_arn(handler, body["TableName"], body.get("IndexName"))
    else:
        yield action, "*"


def authorise_dynamodb(self, resource="*"):
    from moto.core.authorization import ActionAuthenticatorMixin

    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return
    body = self.body if isinstance(self.body, dict) else json.loads(self.body or "{}")
    path = self.raw_path
    for action, arn in checks(self, self._get_action(), body):
        request = IAMRequest(
            account_id=self.current_account,
            method=self.method,
            path=path,
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
            action=action,
        )
        request.check_signature()
        try:
            request.check_action_permitted(arn)
        except AccessDeniedError:
            # As DynamoDB answers, so that the SDK reports it as AWS would.
            who = request._access_key.arn
            message = f"User: {who} is not authorized to perform: dynamodb:{action} on resource: {arn}"
            raise JsonRESTError("AccessDeniedException", message) from None


AUTHORISE_S3 = S3Response._authenticate_and_authorize_s3_action


def authorise_s3(self, bucket_name=None, key_name=None):
    """Presigned URLs carry their credential in the query: authorised as their signer, as on AWS
    (moto itself only reads the Authorization header)."""
    from moto.core.authorization import ActionAuthenticatorMixin

    credential = self.querystring.get("X-Amz-Credential")
    enforcing = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
    if not (credential and enforcing and "Authorization" not in self.headers):
        return AUTHORISE_S3(self, bucket_name, key_name)
    headers = dict(self.headers)
    headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={credential[0]}, SignedHeaders=host, Signature=-"
    request = S3IAMRequest(
        account_id=self.current_account,
        method=self.method,
        path=self.raw_path,
        data=self.data,
        body=self.raw_body,
        headers=headers,
        action=self._get_action(),
    )
    resource = f"{bucket_name}/{key_name}" if key_name else bucket_name
    request.check_action_permitted(f"arn:aws:s3:::{resource}")


def main():
    port, state = int(sys.argv[1]), Path(sys.argv[2])
    DynamoHandler._authenticate_and_authorize_normal_action = authorise_dynamodb
    S3Response._authenticate_and_authorize_s3_action = authorise_s3
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    iam = boto3.client(
        "iam",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam.create_user(UserName="emulator-admin")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="emulator-admin", PolicyName="admin", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="emulator-admin")["AccessKey"]
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    admin = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    (state / "admin.json.tmp").write_text(json.dumps(admin))
    (state / "admin.json.tmp").rename(state / "admin.json")
    threading.Event().wait()


if __name__ == "__main__":
    main()
