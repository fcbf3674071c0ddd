"""Amazon Web Services: SNS signature verification, the SQS worker, the Lambda handler,
S3 input and the SES suppression list.  boto3 is imported only here, and only when one of
these is used.
"""

from __future__ import annotations

from .handler import lambda_handler

__all__ = ["lambda_handler"]
