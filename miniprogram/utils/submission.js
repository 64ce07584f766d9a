// The Idempotency-Key of a submission: the same form sent again (after a network failure, or after the
// mini-program was closed mid-send) carries the same key, so the union gets one application; a changed
// form gets a new key. Only a hash of the form is kept, never the name or ID number.
const { randomId } = require('./random.js')

const KEY = 'ruhui.pending_submission'

// cyrb53: a fast 53-bit string hash; enough to tell one form from another, not a secret.
function hash(text) {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)
}

function keyFor(body) {
  const fingerprint = hash(JSON.stringify(body))
  const pending = wx.getStorageSync(KEY)
  if (pending && pending.fingerprint === fingerprint) return pending.key
  const key = `mp-${Date.now().toString(36)}-${randomId(20)}`
  wx.setStorageSync(KEY, { fingerprint, key })
  return key
}

function settled() {
  wx.removeStorageSync(KEY)
}

module.exports = { keyFor, settled }
