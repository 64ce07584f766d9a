"""The signing functions reproduce the providers' published examples byte for byte."""

from __future__ import annotations

from app.notify.sms import aliyun_signature, tc3_signature


def test_aliyun_rpc_signature_matches_the_describe_regions_example():
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_signature_ignores_an_existing_signature_parameter():
    params = {"Action": "DescribeRegions", "Signature": "anything", "Timestamp": "2016-02-23T12:46:24Z"}
    assert aliyun_signature("GET", params, "k") == aliyun_signature("GET", {**params, "Signature": "other"}, "k")


def test_tencent_tc3_signature_matches_the_api3_example():
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert b"\\u672a" in payload  # literal backslash-u escapes, as in the published example
    signature = tc3_signature(
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        timestamp=1551113065,
        payload=payload,
    )
    assert signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
