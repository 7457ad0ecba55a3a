"""The blocks ``python -m flows deploy`` saves are what the flows read when a setting is
missing (flows/resources.py): the pseudonym key and the lake in the aws profile."""

from __future__ import annotations

import pytest

from flows.config import SettingsError, get_settings
from flows.resources import LAKE_BLOCK, PSEUDONYM_KEY_BLOCK, Resources


def _aws(monkeypatch, **settings: str) -> Resources:
    monkeypatch.setenv("BIGD_PROFILE", "aws")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return Resources(get_settings())


def test_without_a_prefect_api_no_block_is_tried(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(SettingsError, match=r"BIGD_PSEUDONYM_KEY.*no Prefect API"):
            _aws(monkeypatch).pseudonym_key()
        with pytest.raises(SettingsError, match=r"BIGD_LAKE .*no Prefect API"):
            _ = _aws(monkeypatch).lake  # never a folder on the worker's disk


@pytest.mark.integration
def test_the_pseudonym_key_and_the_lake_come_from_their_blocks(prefect_harness, monkeypatch):
    from prefect.blocks.system import Secret
    from prefect_aws import AwsClientParameters, AwsCredentials
    from prefect_aws.s3 import S3Bucket

    with pytest.raises(
        SettingsError, match=rf"no Prefect Secret block .{PSEUDONYM_KEY_BLOCK}. \(\w+\)"
    ):
        _aws(monkeypatch).pseudonym_key()
    Secret(value="from-the-block").save(PSEUDONYM_KEY_BLOCK, overwrite=True)
    credentials = AwsCredentials(
        aws_client_parameters=AwsClientParameters(endpoint_url="http://127.0.0.1:9")
    )
    S3Bucket(bucket_name="lake", bucket_folder="bigd/", credentials=credentials).save(
        LAKE_BLOCK, overwrite=True
    )
    try:
        resources = _aws(monkeypatch)
        assert resources.pseudonym_key() == b"from-the-block"
        assert resources.lake.uri_root == "s3://lake/bigd"
        assert resources.lake.s3_endpoint_url == "http://127.0.0.1:9"
        # A setting in the environment wins over its block.
        resources = _aws(
            monkeypatch,
            BIGD_PSEUDONYM_KEY="from-env",
            BIGD_LAKE="s3://other/x",
            BIGD_S3_ENDPOINT_URL="http://127.0.0.1:8",
        )
        assert resources.pseudonym_key() == b"from-env"
        assert (resources.lake.uri_root, resources.lake.s3_endpoint_url) == (
            "s3://other/x",
            "http://127.0.0.1:8",
        )
        # The local profile keeps its generated key and folder lake.
        monkeypatch.delenv("BIGD_PSEUDONYM_KEY")
        monkeypatch.delenv("BIGD_LAKE")
        monkeypatch.setenv("BIGD_PROFILE", "local")
        get_settings.cache_clear()
        local = Resources(get_settings())
        assert local.pseudonym_key() != b"from-the-block"
        assert local.lake.uri_root.startswith("file://")
    finally:
        Secret.delete(PSEUDONYM_KEY_BLOCK)
        S3Bucket.delete(LAKE_BLOCK)
