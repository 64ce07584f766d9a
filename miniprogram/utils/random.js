// Random ids that are not secrets (a device id, an Idempotency-Key): letters and digits.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function randomId(length) {
  let id = ''
  for (let i = 0; i < length; i += 1) {
    id += ALPHABET.charAt(Math.floor(Math.random() * ALPHABET.length))
  }
  return id
}

module.exports = { randomId }
