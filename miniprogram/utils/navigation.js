// Page paths passed in a query (?next=…) and the way back to sign-in when the tokens have ended.
function decodedPath(value, fallback) {
  if (!value) return fallback
  let path = value
  try {
    path = decodeURIComponent(value)
  } catch (error) {
    return fallback
  }
  // Only pages of this mini-program.
  return /^\/pages\/[a-z]+\/index(\?[A-Za-z0-9_=&%.-]*)?$/.test(path) ? path : fallback
}

function toSignIn(next) {
  wx.redirectTo({ url: `/pages/signin/index?next=${encodeURIComponent(next)}` })
}

module.exports = { decodedPath, toSignIn }
