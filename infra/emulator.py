"""AWS on this machine for the AWS adapters: moto server on a free loopback port, with the
tables, queues and bucket of template.yaml, created from the template itself.

    infra/emulator start                 start (or find running) and print the runtime's environment
    infra/emulator stop                  stop it
    infra/emulator status                whether it runs (exit status 0) and where
    infra/emulator create NAME [options] another copy of the resources, named after stack NAME
                                         (tests use one copy each); prints its environment
    infra/emulator identities NAME [--without FUNCTION=ACTION ...]
                                         an IAM user per function of stack NAME with exactly
                                         the policy template.yaml gives it (less the actions
                                         named); prints FUNCTION_IDENTITIES for the runtime

The server (infra/emulator_server.py) checks browser uploads (S3 POST policies) as S3 does.
With EMULATOR_IAM=1 it also enforces IAM: every request is checked against the policies of
the identity that signed it, DynamoDB per table, index and transaction item, Secrets Manager
per secret, as on AWS. Use a state directory of its own (EMULATOR_STATE_DIR) for it.

The environment is printed as KEY=VALUE lines: the standard AWS_* variables pointing the SDK at
moto, and the variables template.yaml sets for every function (Globals), with the same values
CloudFormation would give them for a stack named `sorgeregister-local`.
"""

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
STATE = Path(os.environ.get("EMULATOR_STATE_DIR", ROOT / ".emulator"))
STACK = "sorgeregister-local"
REGION = "eu-central-1"
# moto's default account; it is part of the bucket name, as on AWS.
ACCOUNT = "123456789012"
IAM = os.environ.get("EMULATOR_IAM") == "1"
# Parameters a deployment must give that the emulator gives itself: the domain mails come from
# (the runtime's default sender is noreply@sorgeregister.localhost).
EMULATOR_PARAMETERS = {"MailDomain": "sorgeregister.localhost"}
# `!Ref AWS::NoValue`: the property or list item is left out.
NO_VALUE = object()


def credentials():
    """Who sets the server up: anyone, or where IAM is enforced its administrator."""
    if IAM:
        return json.loads((STATE / "admin.json").read_text())
    return {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}


class Tagged(dict):
    """A CloudFormation short-form function (!Ref, !Sub, ...) as its long form."""


def _construct(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tagged({name: value})


class TemplateLoader(yaml.SafeLoader):
    pass


TemplateLoader.add_multi_constructor("!", _construct)


def load_template():
    with open(TEMPLATE, encoding="utf-8") as file:
        return yaml.load(file, Loader=TemplateLoader)


class Stack:
    """The template's data resources as CloudFormation would name them for one stack."""

    def __init__(self, template, name, parameters):
        self.template = template
        self.name = name
        self.parameters = {
            key: str(spec.get("Default", "")) for key, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update(EMULATOR_PARAMETERS)
        self.parameters.update(parameters)
        self.resources = template["Resources"]

    def of_type(self, kind):
        """The resources of `kind` the stack has (those whose condition holds)."""
        return {
            key: r
            for key, r in self.resources.items()
            if r["Type"] == kind and ("Condition" not in r or self.condition(r["Condition"]))
        }

    def physical_name(self, logical):
        properties = self.resources[logical]["Properties"]
        name_property = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::SES::ConfigurationSet": "Name",
            "AWS::SES::EmailIdentity": "EmailIdentity",
        }[self.resources[logical]["Type"]]
        return self.resolve(properties[name_property])

    def queue_url(self, endpoint, logical):
        return f"{endpoint}/{ACCOUNT}/{self.physical_name(logical)}"

    def resolve(self, value, endpoint=None):
        """Evaluates the functions the data resources and the Globals use."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v, endpoint) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        if "Ref" in value:
            return self.ref(value["Ref"], endpoint)
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            out, rest = "", text
            while "${" in rest:
                before, _, after = rest.partition("${")
                variable, _, rest = after.partition("}")
                out += before + self.sub_variable(variable, endpoint)
            return out + rest
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            kind = self.resources[logical]["Type"]
            if attribute == "Arn" and kind == "AWS::SQS::Queue":
                return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.physical_name(logical)}"
            if attribute == "QueueName":
                return self.physical_name(logical)
            if attribute == "Arn" and kind == "AWS::DynamoDB::Table":
                return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.physical_name(logical)}"
            if attribute == "Arn" and kind == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{self.physical_name(logical)}"
            raise SystemExit(f"infra/emulator: !GetAtt {logical}.{attribute} is not supported")
        if "Fn::If" in value:
            condition, then, otherwise = value["Fn::If"]
            return self.resolve(then if self.condition(condition) else otherwise, endpoint)
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            raise SystemExit(f"infra/emulator: {next(iter(value))} is not supported here")
        resolved = {k: self.resolve(v, endpoint) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def condition(self, name_or_expression):
        if isinstance(name_or_expression, str):
            return self.condition(self.template["Conditions"][name_or_expression])
        (function, arguments), = name_or_expression.items()
        if function == "Fn::Equals":
            return str(self.resolve(arguments[0])) == str(self.resolve(arguments[1]))
        if function == "Fn::Not":
            return not self.condition(arguments[0])
        if function == "Fn::And":
            return all(self.condition(a) for a in arguments)
        if function == "Fn::Or":
            return any(self.condition(a) for a in arguments)
        raise SystemExit(f"infra/emulator: condition {function} is not supported")

    def sub_variable(self, variable, endpoint):
        if "." in variable:
            logical, attribute = variable.split(".", 1)
            return self.resolve({"Fn::GetAtt": [logical, attribute]}, endpoint)
        return str(self.ref(variable, endpoint))

    def ref(self, name, endpoint):
        pseudo = {"AWS::StackName": self.name, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.resources[name]["Type"]
        if kind == "AWS::SQS::Queue":
            return self.queue_url(endpoint, name)
        return self.physical_name(name)

    def environment(self, endpoint):
        """The Globals' function environment, as the functions would see it, plus the SDK's."""
        variables = self.template["Globals"]["Function"]["Environment"]["Variables"]
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, **credentials()}
        env.update({key: str(self.resolve(value, endpoint)) for key, value in variables.items()})
        # The runtime mails as the notify function does (through SES with this set, on AWS).
        notify = self.resources["NotifyFunction"]["Properties"]["Environment"]["Variables"]
        env["MAIL_CONFIGURATION_SET"] = str(self.resolve(notify["MAIL_CONFIGURATION_SET"], endpoint))
        return env


def clients(endpoint):
    admin = credentials()
    session = boto3.session.Session(
        aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    return {service: session.client(service, endpoint_url=endpoint) for service in ("dynamodb", "sqs", "s3", "iam", "sesv2")}


def function_policy(stack, function, without):
    """The statements template.yaml gives `function`, resolved for `stack`, less `without`."""
    statements = []
    for policy in stack.resources[function]["Properties"].get("Policies", []):
        if "Statement" in policy:
            statements += stack.resolve(policy["Statement"])
        elif "SQSSendMessagePolicy" in policy:
            # SAM's policy template, as SAM expands it.
            queue = stack.resolve(policy["SQSSendMessagePolicy"]["QueueName"])
            resource = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
            statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage*"], "Resource": resource})
        else:
            raise SystemExit(f"infra/emulator: {function} has a policy it cannot read: {policy}")
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a not in without]
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s["Action"]]}


def identities(endpoint, stack, without):
    """An IAM user per function with the function's policy; their keys by logical id."""
    iam = clients(endpoint)["iam"]
    keys = {}
    for function in stack.of_type("AWS::Serverless::Function"):
        user = f"{stack.name}-{function}"
        iam.create_user(UserName=user)
        policy = function_policy(stack, function, without.get(function, set()))
        iam.put_user_policy(UserName=user, PolicyName="function", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[function] = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    return {"FUNCTION_IDENTITIES": json.dumps(keys, separators=(",", ":"))}


def create(endpoint, stack, visibility_timeout=None):
    """Creates the stack's tables, queues and bucket with the template's settings."""
    aws = clients(endpoint)
    for logical, table in stack.of_type("AWS::DynamoDB::Table").items():
        p = stack.resolve(table["Properties"])
        aws["dynamodb"].create_table(
            TableName=p["TableName"],
            BillingMode=p["BillingMode"],
            AttributeDefinitions=p["AttributeDefinitions"],
            KeySchema=p["KeySchema"],
            GlobalSecondaryIndexes=p.get("GlobalSecondaryIndexes", []),
            SSESpecification={"Enabled": p["SSESpecification"]["SSEEnabled"]},
        )
        if "TimeToLiveSpecification" in p:
            aws["dynamodb"].update_time_to_live(
                TableName=p["TableName"], TimeToLiveSpecification=p["TimeToLiveSpecification"]
            )
        if "PointInTimeRecoverySpecification" in p:
            aws["dynamodb"].update_continuous_backups(
                TableName=p["TableName"],
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
                },
            )

    queues = stack.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy must name an existing queue.
    for logical in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]["Properties"]):
        p = stack.resolve(queues[logical]["Properties"], endpoint)
        attributes = {
            key: str(p[key]).lower() if isinstance(p[key], bool) else str(p[key])
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled")
            if key in p
        }
        if "RedrivePolicy" in p:
            attributes["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
            if visibility_timeout is not None:
                attributes["VisibilityTimeout"] = str(visibility_timeout)
        aws["sqs"].create_queue(QueueName=p["QueueName"], Attributes=attributes)

    for logical, bucket in stack.of_type("AWS::S3::Bucket").items():
        p = stack.resolve(bucket["Properties"])
        name = p["BucketName"]
        aws["s3"].create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        aws["s3"].put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
        )
        encryption = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
            for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        aws["s3"].put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": encryption})
        aws["s3"].put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
        aws["s3"].put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": [lifecycle_rule(rule) for rule in p["LifecycleConfiguration"]["Rules"]]},
        )

    # SES: the configuration set the notify function sends through, and the sending domain.
    for logical, configuration_set in stack.of_type("AWS::SES::ConfigurationSet").items():
        aws["sesv2"].create_configuration_set(ConfigurationSetName=stack.physical_name(logical))
    for logical, identity in stack.of_type("AWS::SES::EmailIdentity").items():
        aws["sesv2"].create_email_identity(EmailIdentity=stack.physical_name(logical))
    return stack.environment(endpoint)


def lifecycle_rule(rule):
    """A lifecycle rule in CloudFormation's shape as the S3 API takes it."""
    api = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if rule.get("ExpiredObjectDeleteMarker"):
        api["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return api


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(endpoint):
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def running():
    """The endpoint of the running emulator, if there is one."""
    try:
        state = json.loads((STATE / "state.json").read_text())
        os.kill(state["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    return state if answers(state["endpoint"]) else None


def print_env(env):
    for key, value in env.items():
        print(f"{key}={value}")


def start():
    state = running()
    if state:
        print_env(state["env"])
        return
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = open(STATE / "moto.log", "ab")
    (STATE / "admin.json").unlink(missing_ok=True)
    command = [sys.executable, str(ROOT / "infra/emulator_server.py"), str(port), str(STATE)] + (["--iam"] if IAM else [])
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not answers(endpoint) or (IAM and not (STATE / "admin.json").exists()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"infra/emulator: moto server did not start; see {STATE / 'moto.log'}")
        time.sleep(0.1)
    try:
        env = create(endpoint, Stack(load_template(), STACK, {}))
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    (STATE / "state.json").write_text(json.dumps({"pid": process.pid, "endpoint": endpoint, "env": env}))
    print_env(env)


def stop():
    try:
        state = json.loads((STATE / "state.json").read_text())
    except (OSError, ValueError):
        return
    try:
        os.killpg(state["pid"], signal.SIGTERM)
        for _ in range(50):
            os.kill(state["pid"], 0)
            time.sleep(0.1)
        os.killpg(state["pid"], signal.SIGKILL)
    except (OSError, KeyError):
        pass
    (STATE / "state.json").unlink(missing_ok=True)


def main():
    parser = argparse.ArgumentParser(prog="infra/emulator", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", help="start moto server with the resources; print the environment")
    commands.add_parser("stop", help="stop moto server")
    commands.add_parser("status", help="exit status 0 and the endpoint if moto server runs, else 1")
    copy = commands.add_parser("create", help="create another copy of the resources on the running server")
    copy.add_argument("name", help="stack name the copy's resources are named after")
    copy.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="template parameter")
    users = commands.add_parser("identities", help="an IAM user per function of a stack, with its policy")
    users.add_argument("name", help="the stack whose resources the policies name")
    users.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="FUNCTION=ACTION",
        help="leave ACTION out of FUNCTION's policy (to see a test fail without it)",
    )
    copy.add_argument(
        "--visibility-timeout",
        type=int,
        help="visibility timeout of the chain's queues in seconds, for tests whose clock runs fast",
    )
    arguments = parser.parse_args()

    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "lock", "w") as lock:
        # One start or stop at a time: tests running in parallel all call `start`.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if arguments.command == "start":
            start()
        elif arguments.command == "stop":
            stop()
        elif arguments.command == "status":
            state = running()
            if not state:
                raise SystemExit("infra/emulator: not running")
            print(state["endpoint"])
        elif arguments.command == "identities":
            state = running()
            if not state:
                raise SystemExit("infra/emulator: not running; `infra/emulator start` first")
            without = {}
            for item in arguments.without:
                function, action = item.split("=", 1)
                without.setdefault(function, set()).add(action)
            print_env(identities(state["endpoint"], Stack(load_template(), arguments.name, {}), without))
        else:
            state = running()
            if not state:
                raise SystemExit("infra/emulator: not running; `infra/emulator start` first")
            parameters = dict(p.split("=", 1) for p in arguments.parameter)
            stack = Stack(load_template(), arguments.name, parameters)
            print_env(create(state["endpoint"], stack, arguments.visibility_timeout))


if __name__ == "__main__":
    main()
