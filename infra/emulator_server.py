"""moto server that refuses what AWS refuses, for the calls this service makes.

    python infra/emulator_server.py PORT STATE_DIR [--iam]

Browser uploads (S3 POST with a policy): moto stores whatever is posted. Here the post is
checked as S3 checks it: the signature over the policy with the signer's secret (SigV4,
computed here independently of the service's Rust signer), the expiry, every condition, no
field the policy does not cover, the file's size against `content-length-range`; and, with
IAM enforced, the signer's right to `s3:PutObject` on the key.

With --iam, IAM is enforced. moto checks an identity's policies only against the action a
request names and, for DynamoDB and Secrets Manager, against no resource at all ("*"). AWS
decides DynamoDB per table and index, and a transaction per item: a `TransactWriteItems`
needs `PutItem`, `UpdateItem`, `DeleteItem` or `ConditionCheckItem` on each item's table, and
there is no `TransactWriteItems` permission; Secrets Manager per secret; SES v2 `SendEmail` per
sending identity (the sender's domain) and configuration set. SES also refuses a configuration
set that does not exist and tags that are not plain, which moto ignores; sent mails are kept
with both, for tests to read (`/moto-api/data.json`, `ses.RawMessage`). This module teaches
moto's handlers those rules. Until the first identity exists nothing is checked; the server
then creates an administrator (Allow * on *), writes its access key to STATE_DIR/admin.json and
from then on checks every request. S3 (object ARNs; presigned URLs as their signer) and SQS
(queue ARNs) are checked by moto itself.

Always: a `TransactWriteItems` with a `ClientRequestToken` is idempotent as in DynamoDB, which
moto ignores: for ten minutes the same token with the same request succeeds again without
writing, with another request it is refused (`IdempotentParameterMismatchException`). And a
transaction keeps a copy of the items it writes, to restore them if it fails, where moto copies
every table it writes to: each transaction then took time in proportion to the table.
"""

import base64
import copy
import hashlib
import hmac
import json
import re
import sys
import threading
import time
from datetime import datetime, timezone
from email.utils import parseaddr
from xml.sax.saxutils import escape
from pathlib import Path

import boto3
from moto import settings
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.core.responses import ActionResult
import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import IAMRequest, S3IAMRequest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.s3.responses import S3Response
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sesv2.responses import SESV2Response

# The item actions of a transaction, by the member that names them.
TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def iam_request(handler, action, headers=None, kind=IAMRequest, method=None):
    """moto's authorisation of `action` for the identity that signed `handler`'s request (or
    the one `headers` name)."""
    return kind(
        account_id=handler.current_account,
        method=method or handler.method,
        path=handler.raw_path,
        data=handler.data,
        body=handler.raw_body,
        headers=headers if headers is not None else handler.headers,
        action=action,
    )


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


# DynamoDB keeps a transaction's token for ten minutes.
TOKEN_SECONDS = 600
transaction_tokens = {}
transaction_tokens_lock = threading.Lock()
moto_transact_write_items = DynamoHandler.transact_write_items


def transact_write_items(self):
    token = self.body.get("ClientRequestToken")
    if token is None:
        return moto_transact_write_items(self)
    request = {name: value for name, value in self.body.items() if name != "ClientRequestToken"}
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    with transaction_tokens_lock:
        now = time.monotonic()
        for old in [t for t, (_, at) in transaction_tokens.items() if now - at > TOKEN_SECONDS]:
            del transaction_tokens[old]
        if token in transaction_tokens:
            if transaction_tokens[token][0] != digest:
                message = "The request uses the same client token as a previous, but non-identical request."
                raise JsonRESTError("IdempotentParameterMismatchException", message)
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        # Only a transaction that took effect keeps its token (a cancelled one may be sent again).
        result = moto_transact_write_items(self)
        transaction_tokens[token] = (digest, now)
        return result


class TablesNotCopied:
    """Stands in for the `copy` module in moto's DynamoDB models while a transaction runs there:
    a table "copied" for the rollback is the table itself (restored item by item instead)."""

    in_transaction = threading.local()

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table) and getattr(TablesNotCopied.in_transaction, "active", False):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


moto_backend_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items_restoring_items(self, transact_items):
    """moto's transaction, with a copy of each item it writes (or none where there was none)
    restored if it fails."""
    saved = []
    for member in transact_items:
        _, op = next(iter(member.items()))
        table = self.tables.get(op.get("TableName"))
        key = op.get("Item") or op.get("Key") or {}
        if table is None or table.hash_key_attr not in key:
            continue
        place = (DynamoType(key[table.hash_key_attr]), DynamoType(key[table.range_key_attr]) if table.range_key_attr else None)
        saved.append((table, place, copy.deepcopy(item_at(table, place))))
    TablesNotCopied.in_transaction.active = True
    try:
        return moto_backend_transact_write_items(self, transact_items)
    except Exception:
        for table, place, item in reversed(saved):
            put_item_at(table, place, item)
        raise
    finally:
        TablesNotCopied.in_transaction.active = False


def item_at(table, place):
    hash_value, range_value = place
    if range_value is None:
        return table.items.get(hash_value)
    return table.items.get(hash_value, {}).get(range_value)


def put_item_at(table, place, item):
    """Puts `item` back where it was (none: removes what is there)."""
    hash_value, range_value = place
    if range_value is None:
        holder, name = table.items, hash_value
    else:
        holder, name = table.items[hash_value], range_value
    if item is None:
        holder.pop(name, None)
    else:
        holder[name] = item


def authorise_dynamodb(self, resource="*"):
    from moto.core.authorization import ActionAuthenticatorMixin

    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return
    body = self.body if isinstance(self.body, dict) else json.loads(self.body or "{}")
    for action, arn in checks(self, self._get_action(), body):
        request = iam_request(self, action)
        request.check_signature()
        try:
            request.check_action_permitted(arn)
        except AccessDeniedError:
            # As DynamoDB answers, so that the SDK reports it as AWS would.
            who = request._access_key.arn
            message = f"User: {who} is not authorized to perform: dynamodb:{action} on resource: {arn}"
            raise JsonRESTError("AccessDeniedException", message) from None


def authorise_secrets(self, resource="*"):
    """Secrets Manager per secret, as AWS decides it: the secret's ARN (name, then a suffix)."""
    from moto.core.authorization import ActionAuthenticatorMixin

    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return
    body = json.loads(self.body or "{}")
    name = body.get("SecretId") or body.get("Name") or "*"
    arn = name if name.startswith("arn:") else f"arn:aws:secretsmanager:{self.region}:{self.current_account}:secret:{name}-AbCdEf"
    request = iam_request(self, self._get_action())
    request.check_signature()
    request.check_action_permitted(arn)


def authorise_sesv2(self, resource="*"):
    """SES v2 as AWS decides `SendEmail`: on the sender's identity and the configuration set,
    as `SendRawEmail` for a raw message."""
    from moto.core.authorization import ActionAuthenticatorMixin

    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        return
    action = self._get_action()
    arns = ["*"]
    if action == "SendEmail":
        body = json.loads(self.body or "{}")
        domain = parseaddr(body.get("FromEmailAddress", ""))[1].rpartition("@")[2]
        arns = [f"arn:aws:ses:{self.region}:{self.current_account}:identity/{domain}"]
        if body.get("ConfigurationSetName"):
            arns.append(f"arn:aws:ses:{self.region}:{self.current_account}:configuration-set/{body['ConfigurationSetName']}")
        # SES v2 authorises a raw message as v1's SendRawEmail.
        if "Raw" in body.get("Content", {}):
            action = "SendRawEmail"
    request = iam_request(self, action)
    request.check_signature()
    for arn in arns:
        request.check_action_permitted(arn)


SEND_EMAIL = SESV2Response.send_email
# SES's rule for tag names and values.
PLAIN_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def send_email(self):
    """SES v2 `SendEmail` with what moto leaves out: the configuration set must exist, tags must
    be plain; the mail moto keeps records both."""
    params = json.loads(self.body or "{}")
    core = self.sesv2_backend.core_backend
    name = params.get("ConfigurationSetName")
    if name and name not in core.config_sets:
        error = JsonRESTError("NotFoundException", f"Configuration set <{name}> does not exist.")
        error.code = 404
        raise error
    tags = {tag.get("Name", ""): tag.get("Value", "") for tag in params.get("EmailTags", [])}
    if not all(PLAIN_TAG.match(key) and PLAIN_TAG.match(value) for key, value in tags.items()):
        raise JsonRESTError("BadRequestException", "Tag names and values may hold letters, digits, _ and - only.")
    sent = len(core.sent_messages)
    answer = SEND_EMAIL(self)
    for message in core.sent_messages[sent:]:
        message.configuration_set, message.tags = name, tags
    return answer


AUTHORISE_S3 = S3Response._authenticate_and_authorize_s3_action
# The secrets of the credentials that are not IAM users: the emulator's own (infra/emulator).
KNOWN_SECRETS = {"emulator": "emulator"}


class PolicyRefused(Exception):
    def __init__(self, code, message, status=403):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def response(self):
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message></Error>'
        return self.status, {"Content-Type": "application/xml"}, body


def secret_of(account, access_key):
    from moto.iam.access_control import IAMUserAccessKey

    try:
        return IAMUserAccessKey(account, "aws", access_key, {})._secret_access_key
    except Exception:
        return KNOWN_SECRETS.get(access_key)


def sigv4_post_signature(secret, day, region, policy):
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()


def check_post_policy(self, bucket, fields, size):
    """As S3 judges a browser's POST: raises PolicyRefused, or returns the signer's access key."""
    field = {name.lower(): value[0] for name, value in fields.items()}
    policy = field.get("policy")
    if not policy or field.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise PolicyRefused("InvalidArgument", "Bucket POST must contain a valid policy", 400)
    access_key, day, region, *_ = field.get("x-amz-credential", "").split("/") + ["", "", ""]
    secret = secret_of(self.current_account, access_key)
    expected = secret and sigv4_post_signature(secret, day, region, policy)
    if not expected or not hmac.compare_digest(expected, field.get("x-amz-signature", "")):
        raise PolicyRefused("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
    document = json.loads(base64.b64decode(policy))
    expiration = datetime.fromisoformat(document["expiration"].replace("Z", "+00:00"))
    if expiration <= datetime.now(timezone.utc):
        raise PolicyRefused("AccessDenied", "Invalid according to Policy: Policy expired.")
    field["bucket"] = bucket
    covered = {"policy", "x-amz-signature", "file", "bucket"}
    for condition in document["conditions"]:
        if isinstance(condition, dict):
            pairs = [("eq", name, value) for name, value in condition.items()]
        elif condition[0] == "content-length-range":
            if size > condition[2]:
                raise PolicyRefused("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
            if size < condition[1]:
                raise PolicyRefused("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", 400)
            continue
        else:
            pairs = [(condition[0], condition[1].lstrip("$"), condition[2])]
        for operator, name, wanted in pairs:
            covered.add(name.lower())
            value = field.get(name.lower(), "")
            if not (value == wanted if operator == "eq" else value.startswith(wanted)):
                raise PolicyRefused("AccessDenied", f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")
    extra = [name for name in field if name not in covered and not name.startswith("x-ignore-")]
    if extra:
        raise PolicyRefused("AccessDenied", f"Invalid according to Policy: Extra input fields: {extra[0]}")
    return access_key


BUCKET_POST = S3Response._bucket_response_post


def bucket_post(self, request, bucket_name):
    """A browser's upload (a form with a policy) is checked first; moto then stores it, with
    the checking of its own (which knows no such posts) set aside for it."""
    # The form's own fields (moto's querystring also holds what it adds, e.g. the bucket name).
    fields = {name: [value] for name, value in self.form_data.items()}
    if "policy" not in {name.lower() for name in fields}:
        return BUCKET_POST(self, request, bucket_name)
    try:
        access_key = check_post_policy(self, bucket_name, fields, len(self.raw_body or b""))
    except PolicyRefused as refusal:
        return refusal.response()
    from moto.core.authorization import ActionAuthenticatorMixin

    if ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT:
        headers = dict(self.headers)
        headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={access_key}/x/x/s3/aws4_request, SignedHeaders=host, Signature=-"
        signer = iam_request(self, "PutObject", headers, S3IAMRequest, "PUT")
        signer.check_action_permitted(f"arn:aws:s3:::{bucket_name}/{self.querystring['key'][0]}")
    authorise, self._authenticate_and_authorize_s3_action = self._authenticate_and_authorize_s3_action, lambda **_: None
    try:
        return BUCKET_POST(self, request, bucket_name)
    finally:
        self._authenticate_and_authorize_s3_action = authorise


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
    request = iam_request(self, self._get_action(), headers, S3IAMRequest)
    resource = f"{bucket_name}/{key_name}" if key_name else bucket_name
    request.check_action_permitted(f"arn:aws:s3:::{resource}")


def main():
    port, state, iam_enforced = int(sys.argv[1]), Path(sys.argv[2]), "--iam" in sys.argv[3:]
    S3Response._bucket_response_post = bucket_post
    SESV2Response.send_email = send_email
    DynamoHandler.transact_write_items = transact_write_items
    dynamodb_models.copy = TablesNotCopied()
    DynamoDBBackend.transact_write_items = transact_write_items_restoring_items
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    if not iam_enforced:
        server.start()
        threading.Event().wait()
    DynamoHandler._authenticate_and_authorize_normal_action = authorise_dynamodb
    SecretsManagerResponse._authenticate_and_authorize_normal_action = authorise_secrets
    SESV2Response._authenticate_and_authorize_normal_action = authorise_sesv2
    S3Response._authenticate_and_authorize_s3_action = authorise_s3
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
