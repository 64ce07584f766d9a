// Ruhui's API over wx.request: the device id, the worker's tokens (refreshed once, however many requests
// wait for it), Idempotency-Key, and every error as an ApiError carrying the envelope's Chinese message.
const config = require('../config.js')
const session = require('./session.js')
const { deviceId } = require('./device.js')

const NETWORK_MESSAGE = '网络连接失败，请检查网络后重试'
const SIGNED_OUT_MESSAGE = '登录已过期，请重新登录'

class ApiError extends Error {
  constructor(status, code, message, errors, body) {
    super(message)
    this.status = status // 0: no answer reached the phone
    this.code = code
    this.errors = errors || {}
    this.body = body || null
  }

  get signedOut() {
    return this.status === 401
  }
}

function networkError(errMsg) {
  return new ApiError(0, 'network_error', NETWORK_MESSAGE, {}, { errMsg })
}

function envelopeError(res) {
  const body = res.data
  if (body && typeof body === 'object' && typeof body.code === 'string' && typeof body.message === 'string') {
    return new ApiError(res.statusCode, body.code, body.message, body.errors, body)
  }
  // Not our envelope: a proxy or gateway answered.
  return new ApiError(res.statusCode, 'http_error', `服务暂时不可用，请稍后再试（${res.statusCode}）`)
}

function send(method, path, { data, headers } = {}) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: `${config.apiBaseUrl}${path}`,
      method,
      data,
      header: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'X-Device-Id': deviceId(),
        ...headers,
      },
      dataType: 'json',
      timeout: config.requestTimeoutMs,
      // wx.request calls success for every status that came back, fail only when nothing did.
      success: resolve,
      fail: (err) => reject(networkError(err && err.errMsg)),
    })
  })
}

let refreshing = null

// One refresh at a time: a refresh token works once, and presenting it twice ends the whole sign-in.
function refreshTokens() {
  if (!refreshing) {
    refreshing = (async () => {
      const stored = session.read()
      if (!stored) throw new ApiError(401, 'unauthorized', SIGNED_OUT_MESSAGE)
      const res = await send('POST', '/auth/refresh', { data: { refresh_token: stored.refresh_token } })
      if (res.statusCode === 200) {
        session.save(res.data)
        return res.data.access_token
      }
      if (res.statusCode === 401) {
        session.clear()
        throw new ApiError(401, 'unauthorized', SIGNED_OUT_MESSAGE)
      }
      throw envelopeError(res)
    })()
    refreshing.then(
      () => { refreshing = null },
      () => { refreshing = null },
    )
  }
  return refreshing
}

async function accessToken() {
  return session.freshAccessToken() || refreshTokens()
}

async function call(method, path, { data, auth = false, idempotencyKey } = {}) {
  const headers = {}
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey
  if (auth) headers.Authorization = `Bearer ${await accessToken()}`
  let res = await send(method, path, { data, headers })
  if (auth && res.statusCode === 401) {
    // The access token ended early (keys rotated, clock skew): one refresh, one retry.
    headers.Authorization = `Bearer ${await refreshTokens()}`
    res = await send(method, path, { data, headers })
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res.data
  throw envelopeError(res)
}

function signedIn(tokens) {
  session.save(tokens)
  return tokens
}

module.exports = {
  ApiError,
  NETWORK_MESSAGE,
  openJoinCode: (token) => call('GET', `/join/${encodeURIComponent(token)}`),
  sendCode: (phone) => call('POST', '/auth/otp', { data: { phone } }),
  verifyCode: (challengeId, code) =>
    call('POST', '/auth/otp/verify', { data: { challenge_id: challengeId, code } }).then(signedIn),
  signInWithWeChat: (code, phoneCode) =>
    call('POST', '/auth/wechat', { data: phoneCode ? { code, phone_code: phoneCode } : { code } }).then(signedIn),
  submitApplication: (body, idempotencyKey) =>
    call('POST', '/applications', { data: body, auth: true, idempotencyKey }),
  resubmitApplication: (id, body) =>
    call('PUT', `/applications/${encodeURIComponent(id)}`, { data: body, auth: true }),
  application: (id) => call('GET', `/applications/${encodeURIComponent(id)}`, { auth: true }),
  withdrawApplication: (id) => call('POST', `/applications/${encodeURIComponent(id)}/withdraw`, { auth: true }),
  myApplications: () => call('GET', '/me/applications', { data: { limit: 50 }, auth: true }),
  myMembership: () => call('GET', '/me/membership', { auth: true }),
  signOut: () => session.clear(),
}
