"""SES SMTP password derivation against the published vectors (AWS's example secret key)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bounce_classify.ses.credentials import password_version, smtp_endpoint, smtp_password

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # the AWS documentation's example key

VECTORS = [
    ("us-east-2", "BMPPgbAHoFVbze1Ud0oA5uNdXRwUXUZ+qOwphGJbl/cS"),
    ("us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"),
    ("us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"),
    ("eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"),
    ("eu-west-3", "BDDdpSTzbzUY3SJq/n4Oq7heDuCWbOtogMi5S3AR673+"),
    ("eu-north-1", "BPfy85A/4ChxYc0s4mIG5bpIlvRl5AP1uupODe8KaHpf"),
]


@pytest.mark.parametrize(("region", "expected"), VECTORS)
def test_published_vectors(region: str, expected: str) -> None:
    assert smtp_password(SECRET, region) == expected
    assert password_version(expected) == "v4"


@pytest.mark.parametrize("region", ["", "US-EAST-1", "us-east", "email-smtp.us-east-1.amazonaws.com"])
def test_bad_region_is_refused(region: str) -> None:
    with pytest.raises(ValueError, match="region"):
        smtp_password(SECRET, region)


def test_endpoint_name() -> None:
    assert smtp_endpoint("ap-south-1") == "email-smtp.ap-south-1.amazonaws.com"


def _run(args: list[str], stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | env
    return subprocess.run([sys.executable, "-m", "bounce_classify", "ses", "smtp-password", *args],
                          input=stdin, capture_output=True, text=True, env=full_env, timeout=60)


def test_cli_reads_the_secret_from_stdin_and_prints_user_password_endpoint() -> None:
    p = _run(["--region", "us-west-2"], SECRET + "\n", {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"})
    assert p.returncode == 0, p.stderr
    assert "AKIAIOSFODNN7EXAMPLE" in p.stdout
    assert "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd" in p.stdout
    assert "email-smtp.us-west-2.amazonaws.com" in p.stdout


def test_cli_falls_back_to_the_environment() -> None:
    p = _run(["--region", "eu-west-1"], "", {"AWS_SECRET_ACCESS_KEY": SECRET})
    assert p.returncode == 0, p.stderr
    assert "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk" in p.stdout


def test_cli_without_a_secret_or_with_a_bad_region_is_a_one_line_error() -> None:
    p = _run(["--region", "us-east-1"], "", {})
    assert p.returncode == 2 and "AWS_SECRET_ACCESS_KEY" in p.stderr and "Traceback" not in p.stderr
    p = _run(["--region", "moon-base-1x"], SECRET, {})
    assert p.returncode == 2 and "region" in p.stderr and "Traceback" not in p.stderr


def test_cli_has_no_option_that_takes_the_secret() -> None:
    p = subprocess.run([sys.executable, "-m", "bounce_classify", "ses", "smtp-password", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    text = " ".join(p.stdout.split())
    assert "--secret" not in text and "never taken from the command line" in text
