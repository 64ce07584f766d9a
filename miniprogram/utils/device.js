// The X-Device-Id the API counts distinct scanning devices by: random, made once, kept in storage.
const { randomId } = require('./random.js')

const KEY = 'ruhui.device_id'

function deviceId() {
  let id = wx.getStorageSync(KEY)
  if (!id) {
    id = `mp-${randomId(24)}`
    wx.setStorageSync(KEY, id)
  }
  return id
}

module.exports = { deviceId }
