// A phone with WeChat on it, for the mini-program's tests.
//
// Pages are rendered by miniprogram-simulate (WXML compiled by WeChat's wcc) and driven through their
// elements: typing fires `input`, tapping fires `tap`, the phone-number button fires `getphonenumber` with
// a code the fake WeChat server issued. `wx` is WeChat's API as the pages use it: `wx.request` forwards
// over HTTP to this app served by rig.py (only for URLs under config.apiBaseUrl, as WeChat allows only the
// request domains listed for the mini-program), `wx.login` gets a code from the fake WeChat server, storage
// keeps JSON copies, and the privacy APIs behave as the base library documents them.
const fs = require('fs')
const http = require('http')
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.resolve(__dirname, '../../../miniprogram')
const RIG = JSON.parse(process.env.RUHUI_RIG)
const config = require(path.join(ROOT, 'config.js'))

let appDefinition = null
let current = null
global.App = (definition) => {
  appDefinition = definition
}
global.getApp = () => current.app
require(path.join(ROOT, 'app.js'))

// Each page's JS runs once per test file (as once per app launch); each render is a new page instance.
const loaded = {}
function componentId(page) {
  if (!loaded[page]) loaded[page] = simulate.load(path.join(ROOT, page), { rootPath: ROOT })
  return loaded[page]
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// WeChat hands a page its query as written in the URL: values are not decoded.
function parseUrl(url) {
  const [page, query = ''] = url.split('?')
  const options = {}
  query
    .split('&')
    .filter(Boolean)
    .forEach((pair) => {
      const at = pair.indexOf('=')
      options[at < 0 ? pair : pair.slice(0, at)] = at < 0 ? '' : pair.slice(at + 1)
    })
  return { page: page.replace(/^\//, ''), options }
}

function httpJson(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const request = http.request(
      url,
      { method, headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers } },
      (response) => {
        const chunks = []
        response.on('data', (chunk) => chunks.push(chunk))
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let data = text
          try {
            data = JSON.parse(text)
          } catch (error) {
            // not JSON: handed on as text, as wx.request does
          }
          resolve({ status: response.statusCode, headers: response.headers, data })
        })
      },
    )
    request.on('error', reject)
    if (payload) request.write(payload)
    request.end()
  })
}

const control = {
  smsCode: (phone) => httpJson('GET', `${RIG.control}/sms?phone=${phone}`).then((r) => r.data.code),
  loginCode: (openid) => httpJson('POST', `${RIG.control}/wechat/login-code`, { openid }).then((r) => r.data.code),
  phoneCode: (phone) => httpJson('POST', `${RIG.control}/wechat/phone-code`, { phone }).then((r) => r.data.code),
  decodeSvg: (svg) => httpJson('POST', `${RIG.control}/decode-svg`, { svg }).then((r) => r.data.text),
}

// An officer of the rig's province union, through the same API (to return or approve an application).
let officerToken = null
async function officer(method, apiPath, body, headers = {}) {
  if (!officerToken) {
    const login = await httpJson('POST', `${RIG.api}/officers/login`, RIG.officer)
    officerToken = login.data.access_token
  }
  return httpJson(method, `${RIG.api}${apiPath}`, body, { Authorization: `Bearer ${officerToken}`, ...headers })
}

async function decide(applicationId, action, reason) {
  const detail = await officer('GET', `/review/applications/${applicationId}`)
  const answer = await officer(
    'POST',
    `/review/applications/${applicationId}/decision`,
    reason ? { action, reason } : { action },
    { 'If-Match': String(detail.data.version) },
  )
  if (answer.status !== 200) throw new Error(`decision ${action}: ${answer.status} ${JSON.stringify(answer.data)}`)
  return answer.data
}

// Numbers and ID numbers nobody else in this run uses.
let serial = Math.floor(Math.random() * 1e6)
function newPhone() {
  serial += 1
  return `139${String((Date.now() % 1e5) * 1000 + (serial % 1000)).padStart(8, '0')}`
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK = '10X98765432'
function newIdNumber() {
  const birth = new Date(Date.UTC(1975, 0, 1) + Math.floor(Math.random() * 25 * 365) * 86400000)
  const ymd = birth.toISOString().slice(0, 10).replace(/-/g, '')
  const body = `320102${ymd}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`
  const sum = body.split('').reduce((total, digit, i) => total + Number(digit) * WEIGHTS[i], 0)
  return body + CHECK[sum % 11]
}

class Screen {
  constructor(phone, page, options, comp) {
    this.phone = phone
    this.page = page
    this.options = options
    this.comp = comp
  }

  get data() {
    return this.comp.data
  }

  get instance() {
    return this.comp.instance
  }

  // What the person sees: the page's text, spaces squeezed.
  text(selector) {
    const node = selector ? this.element(selector) : this.comp
    return node.dom.textContent.replace(/\s+/g, ' ').trim()
  }

  has(selector) {
    return Boolean(this.comp.querySelector(selector))
  }

  element(selector) {
    const node = this.comp.querySelector(selector)
    if (!node) throw new Error(`${this.page}: nothing on screen matches ${selector}\n${this.text()}`)
    return node
  }

  async fire(selector, event, detail) {
    this.element(selector).dispatchEvent(event, { detail: detail || {} })
    await this.phone.settle()
  }

  type(selector, value) {
    return this.fire(selector, 'input', { value })
  }

  tap(selector) {
    return this.fire(selector, 'tap', {})
  }

  // A picker's choice, by the label shown in the list.
  pick(selector, labels, label) {
    const index = labels.indexOf(label)
    if (index < 0) throw new Error(`${label} is not among ${labels.join(', ')}`)
    return this.fire(selector, 'change', { value: index })
  }

  tick(selector, values) {
    return this.fire(selector, 'change', { value: values })
  }

  // The privacy popup's agree button: WeChat checks that the button the page names was tapped.
  async agreePrivacy(selector) {
    const node = this.element(selector)
    this.phone.privacy.tapped.add(selector.replace(/^#/, ''))
    node.dispatchEvent('agreeprivacyauthorization', { detail: {} })
    await this.phone.settle()
  }

  // Tapping the getPhoneNumber button and choosing to share `number` (allow=false: refusing).
  async authorizePhone(selector, number, { allow = true } = {}) {
    const source = fs.readFileSync(path.join(ROOT, `${this.page}.wxml`), 'utf8')
    const id = selector.replace(/^#/, '')
    const button = new RegExp(`<button[^>]*id="${id}"[^>]*open-type="getPhoneNumber"[^>]*bindgetphonenumber="`)
    if (!button.test(source.replace(/\s+/g, ' '))) throw new Error(`${selector} is not a getPhoneNumber button`)
    const share = async () => {
      const detail = allow
        ? { errMsg: 'getPhoneNumber:ok', code: await control.phoneCode(number) }
        : { errMsg: 'getPhoneNumber:fail user deny' }
      this.element(selector).dispatchEvent('getphonenumber', { detail })
    }
    const privacy = this.phone.privacy
    if (privacy.agreed) {
      await share()
    } else if (privacy.listener) {
      // The base library holds the button and asks the page's popup first.
      privacy.listener(
        this.phone.privacyResolver(share, () =>
          this.element(selector).dispatchEvent('getphonenumber', {
            detail: { errMsg: 'getPhoneNumber:fail privacy permission is not authorized' },
          }),
        ),
        { referrer: 'button.getPhoneNumber' },
      )
    } else {
      throw new Error('no onNeedPrivacyAuthorization listener: WeChat would refuse the phone number')
    }
    await this.phone.settle()
  }
}

class Phone {
  constructor() {
    this.openid = `o-mp-${Math.random().toString(36).slice(2)}`
    this.storage = new Map()
    this.requests = []
    this.navigations = []
    this.modals = []
    this.modalAnswers = []
    this.toasts = []
    this.subscriptions = []
    this.stack = []
    this.inflight = 0
    this.dropNext = [] // {method, path, when: 'before' | 'after'}
    this.privacy = { agreed: false, listener: null, tapped: new Set(), contracts: 0 }
    this.app = { ...appDefinition, globalData: JSON.parse(JSON.stringify(appDefinition.globalData || {})) }
    this.wx = this.makeWx()
    this.activate()
  }

  activate() {
    current = this
    global.wx = this.wx
  }

  track(promise) {
    this.inflight += 1
    return promise.finally(() => {
      this.inflight -= 1
    })
  }

  // Wait until nothing the pages started is still on the way (requests, logins, their callbacks).
  async settle() {
    let quiet = 0
    while (quiet < 3) {
      await sleep(this.inflight ? 10 : 2)
      quiet = this.inflight ? 0 : quiet + 1
    }
  }

  privacyResolver(onAgree, onDisagree) {
    return (option) => {
      if (option.event === 'exposureAuthorization') return
      if (option.event === 'agree') {
        if (!this.privacy.tapped.has(option.buttonId)) throw new Error(`the agree button ${option.buttonId} was never tapped`)
        this.privacy.agreed = true
        this.track(Promise.resolve().then(onAgree))
      } else {
        this.track(Promise.resolve().then(onDisagree))
      }
    }
  }

  // -- the pages ---------------------------------------------------------

  get lastNavigation() {
    return this.navigations[this.navigations.length - 1]
  }

  get screen() {
    return this.stack[this.stack.length - 1]
  }

  async open(url) {
    this.activate()
    const { page, options } = parseUrl(url)
    const comp = simulate.render(componentId(page))
    comp.attach(document.createElement('parent-wrapper'))
    const screen = new Screen(this, page, options, comp)
    this.stack.push(screen)
    if (comp.instance.onLoad) comp.instance.onLoad(options)
    if (comp.instance.onShow) comp.instance.onShow()
    await this.settle()
    return screen
  }

  leave(screen) {
    if (screen.instance.onUnload) screen.instance.onUnload()
    screen.comp.detach()
  }

  // Go where the page last sent the person (navigateTo, redirectTo or reLaunch).
  async follow() {
    const last = this.navigations[this.navigations.length - 1]
    if (!last) throw new Error(`${this.screen.page} went nowhere\n${this.screen.text()}`)
    if (last.how === 'redirectTo') this.leave(this.stack.pop())
    if (last.how === 'reLaunch') while (this.stack.length) this.leave(this.stack.pop())
    if (last.how === 'navigateTo' && this.screen && this.screen.instance.onHide) this.screen.instance.onHide()
    last.followed = true
    return this.open(last.url)
  }

  async back() {
    this.leave(this.stack.pop())
    if (this.screen.instance.onShow) this.screen.instance.onShow()
    await this.settle()
    return this.screen
  }

  closeAll() {
    while (this.stack.length) this.leave(this.stack.pop())
  }

  // -- the network -------------------------------------------------------

  // The next matching request is lost: 'before' it reaches the server, or 'after' (the answer is lost).
  loseNext(method, apiPath, when) {
    this.dropNext.push({ method, apiPath, when })
  }

  request(options) {
    const { url, method = 'GET', data, header = {}, success, fail, complete } = options
    const finish = (callback, result) => {
      if (callback) callback(result)
      if (complete) complete(result)
    }
    if (!url.startsWith(`${config.apiBaseUrl}/`)) {
      setTimeout(() => finish(fail, { errMsg: 'request:fail url not in domain list' }), 0)
      return { abort() {} }
    }
    let apiPath = url.slice(config.apiBaseUrl.length)
    let body
    if (method === 'GET' || method === 'HEAD') {
      if (data && typeof data === 'object') {
        const query = Object.keys(data).map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(data[k])}`)
        if (query.length) apiPath += (apiPath.includes('?') ? '&' : '?') + query.join('&')
      }
    } else if (data !== undefined) {
      body = typeof data === 'string' ? data : JSON.stringify(data)
    }
    const record = { method, path: apiPath, headers: { ...header }, body: body ? JSON.parse(body) : undefined }
    this.requests.push(record)
    const dropAt = this.dropNext.findIndex((d) => d.method === method && apiPath.startsWith(d.apiPath))
    const drop = dropAt >= 0 ? this.dropNext.splice(dropAt, 1)[0] : null
    this.track(
      (async () => {
        if (drop && drop.when === 'before') {
          record.lost = 'before'
          finish(fail, { errMsg: 'request:fail timeout' })
          return
        }
        let answer
        try {
          answer = await httpJson(method, `${RIG.api}${apiPath}`, body === undefined ? undefined : JSON.parse(body), {
            ...header,
            Referer: `https://servicewechat.com/${config.appId}/devtools/page-frame.html`,
          })
        } catch (error) {
          finish(fail, { errMsg: `request:fail ${error.message}` })
          return
        }
        record.status = answer.status
        record.answer = answer.data
        if (drop) {
          record.lost = 'after'
          finish(fail, { errMsg: 'request:fail timeout' })
          return
        }
        finish(success, { statusCode: answer.status, data: answer.data, header: answer.headers, errMsg: 'request:ok' })
      })(),
    )
    return { abort() {} }
  }

  makeWx() {
    const phone = this
    const later = (fn) => phone.track(Promise.resolve().then(fn))
    return {
      ...global.wx,
      request: (options) => phone.request(options),
      login: ({ success, fail }) =>
        phone.track(
          control.loginCode(phone.openid).then(
            (code) => success && success({ code, errMsg: 'login:ok' }),
            (error) => fail && fail({ errMsg: `login:fail ${error.message}` }),
          ),
        ),
      getStorageSync: (key) => (phone.storage.has(key) ? JSON.parse(phone.storage.get(key)) : ''),
      setStorageSync: (key, value) => phone.storage.set(key, JSON.stringify(value)),
      removeStorageSync: (key) => phone.storage.delete(key),
      clearStorageSync: () => phone.storage.clear(),
      getAccountInfoSync: () => ({ miniProgram: { appId: config.appId, envVersion: 'develop', version: '' } }),
      onNeedPrivacyAuthorization: (listener) => {
        phone.privacy.listener = listener
      },
      offNeedPrivacyAuthorization: (listener) => {
        if (phone.privacy.listener === listener) phone.privacy.listener = null
      },
      getPrivacySetting: ({ success }) =>
        later(() =>
          success({
            needAuthorization: !phone.privacy.agreed,
            privacyContractName: '《入会小程序隐私保护指引》',
            errMsg: 'getPrivacySetting:ok',
          }),
        ),
      requirePrivacyAuthorize: ({ success, fail }) =>
        later(() => {
          if (phone.privacy.agreed) success({ errMsg: 'requirePrivacyAuthorize:ok' })
          else if (phone.privacy.listener) {
            phone.privacy.listener(
              phone.privacyResolver(
                () => success({ errMsg: 'requirePrivacyAuthorize:ok' }),
                () => fail({ errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized' }),
              ),
              { referrer: 'requirePrivacyAuthorize' },
            )
          } else fail({ errMsg: 'requirePrivacyAuthorize:fail' })
        }),
      openPrivacyContract: () => {
        phone.privacy.contracts += 1
      },
      navigateTo: ({ url }) => phone.navigations.push({ how: 'navigateTo', url }),
      redirectTo: ({ url }) => phone.navigations.push({ how: 'redirectTo', url }),
      reLaunch: ({ url }) => phone.navigations.push({ how: 'reLaunch', url }),
      navigateBack: () => phone.navigations.push({ how: 'navigateBack' }),
      showModal: (options) => {
        phone.modals.push(options)
        const confirm = phone.modalAnswers.length ? phone.modalAnswers.shift() : true
        later(() => options.success && options.success({ confirm, cancel: !confirm }))
      },
      requestSubscribeMessage: (options) => {
        phone.subscriptions.push(options.tmplIds)
        later(() => options.success && options.success({ errMsg: 'requestSubscribeMessage:ok' }))
      },
      showToast: (options) => phone.toasts.push(options.title),
      showLoading: () => {},
      hideLoading: () => {},
    }
  }
}

module.exports = { Phone, RIG, ROOT, config, control, officer, decide, newPhone, newIdNumber, httpJson, sleep }

// A phone signed in through the sign-in page with WeChat's phone number (privacy guide already agreed).
async function signedInPhone(number = newPhone()) {
  const phone = new Phone()
  phone.privacy.agreed = true
  const screen = await phone.open('/pages/signin/index')
  await screen.authorizePhone('#wechat-phone', number)
  if (!phone.wx.getStorageSync('ruhui.session')) throw new Error(`sign-in failed: ${screen.text()}`)
  phone.closeAll()
  phone.requests.length = 0
  phone.navigations.length = 0
  phone.number = number
  return phone
}

// The form filled in as a person would: name, ID number, employment form, consent.
async function fillForm(screen, { name = '张三', idNumber = newIdNumber(), form = '平台/新就业形态', agree = true } = {}) {
  await screen.type('#full_name', name)
  await screen.type('#id_number', idNumber)
  if (form) await screen.pick('#employment_form', screen.data.employmentForms.map((f) => f.label), form)
  if (agree) await screen.tick('#consent', ['agree'])
  return idNumber
}

module.exports.signedInPhone = signedInPhone
module.exports.fillForm = fillForm
