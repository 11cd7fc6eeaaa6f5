"""IAM documents of the cloud intake: pure functions of ARNs, so tests read them exactly.

The intake function may touch one table's items (never scan it: reading every
supporter is `intake pull`'s job, done with the operator's credentials; delete only
do-not-contact entries, which a confirmation lifts), send email only from the
network's domain, and write its own log group. Nothing else.
"""

from __future__ import annotations

from horizon_infra.policies import VERSION, Policy

# What DynamoStore needs (TransactWriteItems is authorised per item action); Query
# reads one person's index entries when they unsubscribe.
FUNCTION_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
)
DNC_PARTITION = "dnc"  # DynamoStore's partition of do-not-contact entries
PULL_TABLE_ACTIONS = ("dynamodb:Scan", "dynamodb:GetItem", "dynamodb:Query")


def lambda_trust_policy() -> Policy:
    """Only the Lambda service may assume the intake function's role."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def intake_function_policy(
    table_arn: str, identity_arn: str, domain: str, log_group_arn: str
) -> Policy:
    """The intake function's grants: its table's items, email from `domain`, its logs."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "IntakeItems",
                "Effect": "Allow",
                "Action": list(FUNCTION_TABLE_ACTIONS),
                "Resource": [table_arn],
            },
            {
                "Sid": "LiftDoNotContact",
                "Effect": "Allow",
                "Action": ["dynamodb:DeleteItem"],
                "Resource": [table_arn],
                "Condition": {
                    "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [DNC_PARTITION]}
                },
            },
            {
                "Sid": "ConfirmationEmails",
                "Effect": "Allow",
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": [identity_arn],
                "Condition": {"StringLike": {"ses:FromAddress": f"*@{domain}"}},
            },
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group_arn}:*"],
            },
        ],
    }


def intake_pull_policy(table_arn: str) -> Policy:
    """What `provisioner intake pull` needs: read the intake table, nothing more."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "PullSubmissions",
                "Effect": "Allow",
                "Action": list(PULL_TABLE_ACTIONS),
                "Resource": [table_arn],
            }
        ],
    }
