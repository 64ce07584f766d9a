// Where the join token comes from when the mini-program opens on pages/join/index:
// - options.token: the landing page's link (weixin://dl/business/?…&query=token%3D…);
// - options.scene: a mini-program code (小程序码) made by GET /join-codes/{id}/wxacode.png, whose scene is the
//   token, URL-encoded by WeChat;
// - options.q: the ordinary QR code of {PUBLIC_BASE_URL}/j/{token} ("扫普通链接二维码打开小程序"), the whole
//   link URL-encoded once.
const TOKEN = /^[A-Za-z0-9_-]{1,32}$/
const JOIN_PATH = /\/j\/([A-Za-z0-9_-]{1,32})(?:[/?#]|$)/

function decoded(value) {
  try {
    return decodeURIComponent(value)
  } catch (error) {
    return ''
  }
}

function tokenFromOptions(options) {
  const given = options || {}
  if (given.token && TOKEN.test(given.token)) return given.token
  if (given.scene) {
    const scene = decoded(given.scene)
    if (TOKEN.test(scene)) return scene
  }
  if (given.q) {
    const match = JOIN_PATH.exec(decoded(given.q))
    if (match) return match[1]
  }
  return null
}

module.exports = { tokenFromOptions }
