// Proving a phone: by SMS code, or by WeChat's phone number authorisation after the privacy guide.
const path = require('path')
const { Phone, RIG, ROOT, control, newPhone } = require('./support/phone.js')

const api = require(path.join(ROOT, 'utils/api.js'))

const next = encodeURIComponent(`/pages/apply/index?token=${RIG.tokens.depot}`)

afterEach(() => {
  if (global.phone) global.phone.closeAll()
})

function calls(phone, apiPath) {
  return phone.requests.filter((r) => r.path === apiPath)
}

test('SMS sign-in: the code the phone received signs in, with the device id of the scan', async () => {
  const phone = (global.phone = new Phone())
  const number = newPhone()
  await phone.open(`/pages/join/index?token=${RIG.tokens.depot}`)
  const screen = await phone.open(`/pages/signin/index?next=${next}`)
  expect(screen.has('#privacy')).toBe(true) // WeChat's privacy guide first: this person declines it
  await screen.tap('#disagree-privacy')
  expect(screen.has('#privacy')).toBe(false)

  await screen.type('#phone', number)
  await screen.tap('#send')
  expect(screen.text('#notice')).toBe('验证码已发送，请查看短信。')
  expect(screen.text('#send')).toMatch(/秒后可重发/)
  await screen.type('#code', await control.smsCode(number))
  await screen.tap('#verify')

  const [verify] = calls(phone, '/auth/otp/verify')
  expect(verify.status).toBe(200)
  expect(verify.headers['X-Device-Id']).toBe(calls(phone, `/join/${RIG.tokens.depot}`)[0].headers['X-Device-Id'])
  expect(phone.lastNavigation).toEqual({ how: 'redirectTo', url: `/pages/apply/index?token=${RIG.tokens.depot}` })
  const stored = phone.wx.getStorageSync('ruhui.session')
  expect(stored.access_token).toBe(verify.answer.access_token)
  expect(stored.refresh_token).toBe(verify.answer.refresh_token)
})

test('a wrong code is answered beside the code field, in the envelope’s words', async () => {
  const phone = (global.phone = new Phone())
  const number = newPhone()
  const screen = await phone.open(`/pages/signin/index?next=${next}`)
  await screen.tap('#disagree-privacy')
  await screen.type('#phone', number)
  await screen.tap('#send')
  const right = await control.smsCode(number)
  await screen.type('#code', right === '000000' ? '111111' : '000000')
  await screen.tap('#verify')

  const [verify] = calls(phone, '/auth/otp/verify')
  expect(verify.status).toBe(400)
  expect(verify.answer.code).toBe('otp_invalid')
  expect(screen.text('#code-error')).toBe(verify.answer.message)
  expect(phone.wx.getStorageSync('ruhui.session')).toBe('')
})

test('a number that is not a mainland mobile is refused beside the phone field', async () => {
  const phone = (global.phone = new Phone())
  const screen = await phone.open(`/pages/signin/index?next=${next}`)
  await screen.tap('#disagree-privacy')
  await screen.type('#phone', '12345')
  await screen.tap('#send')

  const [otp] = calls(phone, '/auth/otp')
  expect(otp.status).toBe(422)
  expect(screen.text('#phone-error')).toBe(otp.answer.errors.phone.join('；'))
})

test('WeChat sign-in: agree to the privacy guide, share the phone number, and the account is linked', async () => {
  const phone = (global.phone = new Phone())
  const number = newPhone()
  const screen = await phone.open(`/pages/signin/index?next=${next}`)
  // wx.login alone is not enough for a WeChat account never linked to a phone
  const [silent] = calls(phone, '/auth/wechat')
  expect(silent.body).toEqual({ code: expect.any(String) })
  expect(silent.status).toBe(409)
  expect(silent.answer.code).toBe('phone_required')
  expect(screen.has('#message')).toBe(false)

  expect(screen.text('#privacy')).toContain('《入会小程序隐私保护指引》')
  await screen.tap('#privacy-contract')
  expect(phone.privacy.contracts).toBe(1)
  await screen.agreePrivacy('#agree-privacy')
  expect(phone.privacy.agreed).toBe(true)
  expect(screen.has('#privacy')).toBe(false)

  await screen.authorizePhone('#wechat-phone', number)
  const linked = calls(phone, '/auth/wechat')[1]
  expect(linked.body).toEqual({ code: expect.any(String), phone_code: expect.any(String) })
  expect(linked.body.code).not.toBe(silent.body.code) // a wx.login code works once
  expect(linked.status).toBe(200)
  expect(phone.lastNavigation).toEqual({ how: 'redirectTo', url: `/pages/apply/index?token=${RIG.tokens.depot}` })

  // The same WeChat user on a new phone (or after clearing the mini-program): wx.login alone signs in.
  const again = (global.phone = new Phone())
  again.openid = phone.openid
  again.privacy.agreed = true
  await again.open(`/pages/signin/index?next=${next}`)
  expect(calls(again, '/auth/wechat').map((r) => r.status)).toEqual([200])
  expect(again.lastNavigation.url).toBe(`/pages/apply/index?token=${RIG.tokens.depot}`)
})

test('the phone button held by WeChat for the privacy guide goes on once the person agrees', async () => {
  const phone = (global.phone = new Phone())
  const number = newPhone()
  const screen = await phone.open(`/pages/signin/index?next=${next}`)
  await screen.tap('#disagree-privacy')

  await screen.authorizePhone('#wechat-phone', number)
  expect(screen.has('#privacy')).toBe(true) // WeChat asked the page again
  expect(calls(phone, '/auth/wechat')).toHaveLength(1)
  await screen.agreePrivacy('#agree-privacy')

  const linked = calls(phone, '/auth/wechat')[1]
  expect(linked.status).toBe(200)
  expect(phone.lastNavigation.how).toBe('redirectTo')
})

test('declining the guide or the number leaves SMS, and says so', async () => {
  const phone = (global.phone = new Phone())
  const screen = await phone.open(`/pages/signin/index?next=${next}`)
  await screen.tap('#disagree-privacy')
  await screen.authorizePhone('#wechat-phone', newPhone())
  await screen.tap('#disagree-privacy')
  expect(screen.text('#message')).toBe('需要同意《入会小程序隐私保护指引》才能使用微信手机号，也可以改用短信验证码验证。')

  phone.privacy.agreed = true
  await screen.authorizePhone('#wechat-phone', newPhone(), { allow: false })
  expect(screen.text('#message')).toBe('您没有允许使用微信手机号，可以改用短信验证码验证。')
  expect(calls(phone, '/auth/wechat')).toHaveLength(1) // only the silent try
  expect(screen.has('#phone')).toBe(true)
})

describe('tokens', () => {
  async function signedIn() {
    const phone = (global.phone = new Phone())
    phone.privacy.agreed = true
    const screen = await phone.open(`/pages/signin/index?next=${next}`)
    await screen.authorizePhone('#wechat-phone', newPhone())
    phone.closeAll()
    phone.requests.length = 0
    return phone
  }

  test('an ended access token is refreshed once, however many requests wait for it', async () => {
    const phone = await signedIn()
    const stored = phone.wx.getStorageSync('ruhui.session')
    phone.wx.setStorageSync('ruhui.session', { ...stored, access_expires_at: Date.now() - 1000 })

    const lists = await Promise.all([api.myApplications(), api.myApplications(), api.myApplications()])
    expect(lists.map((l) => l.items)).toEqual([[], [], []])
    const refreshes = calls(phone, '/auth/refresh')
    expect(refreshes).toHaveLength(1)
    expect(refreshes[0].status).toBe(200)
    const fresh = phone.wx.getStorageSync('ruhui.session')
    expect(fresh.refresh_token).toBe(refreshes[0].answer.refresh_token)
    expect(fresh.refresh_token).not.toBe(stored.refresh_token)
  })

  test('an access token the server refuses is refreshed and the request sent again', async () => {
    const phone = await signedIn()
    const stored = phone.wx.getStorageSync('ruhui.session')
    phone.wx.setStorageSync('ruhui.session', { ...stored, access_token: 'not-a-token' })

    const list = await api.myApplications()
    expect(list.items).toEqual([])
    expect(phone.requests.map((r) => [r.path.split('?')[0], r.status])).toEqual([
      ['/me/applications', 401],
      ['/auth/refresh', 200],
      ['/me/applications', 200],
    ])
  })

  test('a sign-in that has ended sends the person back to sign in, then to the page they wanted', async () => {
    const phone = await signedIn()
    const stored = phone.wx.getStorageSync('ruhui.session')
    phone.wx.setStorageSync('ruhui.session', { ...stored, access_token: 'x', refresh_token: 'spent-or-forged' })

    await phone.open('/pages/applications/index')
    expect(calls(phone, '/auth/refresh')[0].status).toBe(401)
    expect(phone.wx.getStorageSync('ruhui.session')).toBe('')
    expect(phone.lastNavigation).toEqual({
      how: 'redirectTo',
      url: `/pages/signin/index?next=${encodeURIComponent('/pages/applications/index')}`,
    })
  })
})
