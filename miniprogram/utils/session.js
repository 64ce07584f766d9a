// The worker's tokens (POST /auth/otp/verify, /auth/wechat, /auth/refresh), kept in storage.
const KEY = 'ruhui.session'
// An access token this close to its end is refreshed before use rather than sent to fail.
const EARLY_SECONDS = 30

function read() {
  const stored = wx.getStorageSync(KEY)
  return stored && stored.refresh_token ? stored : null
}

function save(tokens) {
  wx.setStorageSync(KEY, {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    access_expires_at: Date.now() + (Number(tokens.expires_in) - EARLY_SECONDS) * 1000,
  })
}

function clear() {
  wx.removeStorageSync(KEY)
}

function signedIn() {
  return read() !== null
}

function freshAccessToken() {
  const stored = read()
  if (!stored || !stored.access_token || Date.now() >= stored.access_expires_at) return null
  return stored.access_token
}

module.exports = { read, save, clear, signedIn, freshAccessToken }
