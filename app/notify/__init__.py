"""Outbound messages and the providers behind them: SMS gateways and the WeChat API."""
