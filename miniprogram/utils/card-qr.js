// The member card's QR code as an SVG data URI for <image>: the same link the web card shows
// ({PUBLIC_BASE_URL}/api/v1/cards/{card_token}), which opens the card check in any phone camera.
const qrcode = require('qrcode-generator') // npm, built into miniprogram_npm/ by DevTools (工具 → 构建 npm)
const config = require('../config.js')

const QUIET_ZONE = 4
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

function base64(ascii) {
  let out = ''
  for (let i = 0; i < ascii.length; i += 3) {
    const a = ascii.charCodeAt(i)
    const b = i + 1 < ascii.length ? ascii.charCodeAt(i + 1) : NaN
    const c = i + 2 < ascii.length ? ascii.charCodeAt(i + 2) : NaN
    const n = (a << 16) | ((b || 0) << 8) | (c || 0)
    out += BASE64[(n >> 18) & 63] + BASE64[(n >> 12) & 63]
    out += Number.isNaN(b) ? '=' : BASE64[(n >> 6) & 63]
    out += Number.isNaN(c) ? '=' : BASE64[n & 63]
  }
  return out
}

function cardUrl(cardToken) {
  return `${config.apiBaseUrl}/cards/${cardToken}`
}

// One stroked line per row of dark modules: a small SVG however long the token.
function svg(text) {
  const qr = qrcode(0, 'M')
  qr.addData(text)
  qr.make()
  const count = qr.getModuleCount()
  const size = count + 2 * QUIET_ZONE
  const moves = []
  for (let row = 0; row < count; row += 1) {
    let line = ''
    let pen = 0
    let col = 0
    while (col < count) {
      if (!qr.isDark(row, col)) {
        col += 1
      } else {
        const start = col
        while (col < count && qr.isDark(row, col)) col += 1
        line += `m${start + QUIET_ZONE - pen} 0h${col - start}`
        pen = col + QUIET_ZONE
      }
    }
    if (line) moves.push(`M0 ${row + QUIET_ZONE}.5${line}`)
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path stroke="#000" d="${moves.join('')}"/></svg>`
  )
}

function cardQrDataUri(cardToken) {
  return `data:image/svg+xml;base64,${base64(svg(cardUrl(cardToken)))}`
}

module.exports = { cardUrl, cardQrDataUri, svg }
