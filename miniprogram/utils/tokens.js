// Which join code each application was filed through: PUT /applications/{id} needs a live join token
// and the application's representation does not carry one.
const KEY = 'ruhui.application_tokens'

function remember(applicationId, joinToken) {
  const known = wx.getStorageSync(KEY) || {}
  known[applicationId] = joinToken
  wx.setStorageSync(KEY, known)
}

function tokenOf(applicationId) {
  const known = wx.getStorageSync(KEY) || {}
  return known[applicationId] || wx.getStorageSync('ruhui.last_join_token') || null
}

module.exports = { remember, tokenOf }
