// The one file a union edits before uploading the mini-program (README: "The WeChat mini-program").
module.exports = {
  // The mini-program's AppID (mp.weixin.qq.com → 开发管理 → 开发设置). WeChat DevTools keeps the same
  // value in project.config.json; a test fails when the two differ.
  appId: 'touristappid',
  // Ruhui's API: https, on a domain listed as a "request 合法域名" of the mini-program.
  apiBaseUrl: 'https://ruhui.example.cn/api/v1',
  // The server's WECHAT_DECISION_TEMPLATE_ID (a subscribe-message template): when set, submitting asks the
  // worker to allow one WeChat notice of the decision; empty: decisions are told by SMS only.
  decisionTemplateId: '',
  // How long a request may take before the worker is told the network failed.
  requestTimeoutMs: 15000,
  // GET /me/membership's card_token lives five minutes; the card asks for a new one a minute early.
  cardTokenLifetimeSeconds: 300,
  cardRefreshMarginSeconds: 60,
}
