"""Fake providers for tests: real HTTP servers on 127.0.0.1 that check credentials like the real ones.

- ``server.FakeServer``: the shared base (a werkzeug server on a random port, in a thread).
- ``aliyun.FakeAliyunSms``, ``tencent.FakeTencentSms``: SMS gateways that verify the
  HMAC-SHA1 / TC3-HMAC-SHA256 signatures and answer with the providers' shapes.
- ``wechat.FakeWeChat``: jscode2session, stable_token and getuserphonenumber; add an
  endpoint with ``@fake.route(...)`` or, when it needs a valid access token,
  ``@fake.token_route(...)``.

Fixtures (``fake_aliyun``, ``fake_tencent``, ``fake_wechat``, ``ratelimit_backend``,
``clock``) live in ``tests/conftest.py``.
"""
