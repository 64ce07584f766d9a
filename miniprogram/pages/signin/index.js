// Proving a phone: WeChat's phone number authorisation (after the privacy guide is agreed to) or an SMS code.
const api = require('../../utils/api.js')
const clock = require('../../utils/clock.js')
const { decodedPath } = require('../../utils/navigation.js')

const AGREE_BUTTON = 'agree-privacy'

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res.code ? resolve(res.code) : reject(new Error(res.errMsg))),
      fail: (err) => reject(new Error(err && err.errMsg)),
    })
  })
}

Component({
  data: {
    wechatAvailable: true,
    privacyOpen: false,
    privacyContractName: '《用户隐私保护指引》',
    phone: '',
    code: '',
    challengeId: '',
    resendIn: 0,
    busy: false,
    errors: {},
    message: '',
    notice: '',
  },

  methods: {
    onLoad(options) {
      this.next = decodedPath(options && options.next, '/pages/applications/index')
      this.watchPrivacy()
      this.signInSilently()
    },

    onUnload() {
      if (this.resendTimer) clock.cancel(this.resendTimer)
      if (wx.offNeedPrivacyAuthorization && this.privacyListener) wx.offNeedPrivacyAuthorization(this.privacyListener)
    },

    // WeChat asks for the privacy guide before the phone number button works; the page shows it itself.
    watchPrivacy() {
      if (!wx.onNeedPrivacyAuthorization) return // base library before 2.32.3: nothing to agree to
      this.privacyListener = (resolve) => {
        this.resolvePrivacy = resolve
        this.setData({ privacyOpen: true })
      }
      wx.onNeedPrivacyAuthorization(this.privacyListener)
      wx.getPrivacySetting({
        success: (res) => {
          if (res.privacyContractName) this.setData({ privacyContractName: res.privacyContractName })
          if (res.needAuthorization) wx.requirePrivacyAuthorize({ success: () => {}, fail: () => {} })
        },
      })
    },

    agreePrivacy() {
      if (this.resolvePrivacy) this.resolvePrivacy({ buttonId: AGREE_BUTTON, event: 'agree' })
      this.resolvePrivacy = null
      this.setData({ privacyOpen: false })
    },

    disagreePrivacy() {
      if (this.resolvePrivacy) this.resolvePrivacy({ event: 'disagree' })
      this.resolvePrivacy = null
      this.setData({ privacyOpen: false, notice: '未同意隐私保护指引时，可以用短信验证码验证手机号。' })
    },

    openPrivacyContract() {
      wx.openPrivacyContract({})
    },

    // A WeChat account linked earlier signs in with wx.login alone.
    async signInSilently() {
      try {
        await api.signInWithWeChat(await wxLogin())
        this.done()
      } catch (error) {
        if (error.code === 'wechat_not_configured') this.setData({ wechatAvailable: false })
        else if (error.code !== 'phone_required' && error.message) this.setData({ notice: error.message })
      }
    },

    async onPhoneNumber(event) {
      const detail = event.detail || {}
      if (!detail.code) {
        const errMsg = detail.errMsg || ''
        let message = '暂时无法使用微信手机号，请改用短信验证码验证。'
        if (errMsg.includes('privacy')) message = `需要同意${this.data.privacyContractName}才能使用微信手机号，也可以改用短信验证码验证。`
        else if (errMsg.includes('deny')) message = '您没有允许使用微信手机号，可以改用短信验证码验证。'
        this.setData({ message })
        return
      }
      this.setData({ busy: true, message: '' })
      try {
        await api.signInWithWeChat(await wxLogin(), detail.code)
        this.done()
      } catch (error) {
        this.setData({ message: error.message || api.NETWORK_MESSAGE })
      } finally {
        this.setData({ busy: false })
      }
    },

    onPhoneInput(event) {
      this.setData({ phone: event.detail.value.trim() })
    },

    onCodeInput(event) {
      this.setData({ code: event.detail.value.trim() })
    },

    async sendCode() {
      if (this.data.resendIn > 0 || this.data.busy) return
      this.setData({ busy: true, message: '', errors: {} })
      try {
        const challenge = await api.sendCode(this.data.phone)
        this.setData({ challengeId: challenge.challenge_id, notice: '验证码已发送，请查看短信。' })
        this.countDown(Number(challenge.resend_after) || 60)
      } catch (error) {
        const phoneErrors = error.errors.phone
        if (phoneErrors) this.setData({ errors: { phone: phoneErrors.join('；') } })
        else this.setData({ message: error.message })
      } finally {
        this.setData({ busy: false })
      }
    },

    countDown(seconds) {
      this.setData({ resendIn: seconds })
      if (seconds <= 0) return
      this.resendTimer = clock.later(() => this.countDown(seconds - 1), 1000)
    },

    async verify() {
      if (!this.data.challengeId) {
        this.setData({ errors: { code: '请先获取验证码' } })
        return
      }
      this.setData({ busy: true, message: '', errors: {} })
      try {
        await api.verifyCode(this.data.challengeId, this.data.code)
        this.done()
      } catch (error) {
        const codeErrors = error.errors.code || error.errors.challenge_id
        if (codeErrors) this.setData({ errors: { code: codeErrors.join('；') } })
        else if (error.status === 0) this.setData({ message: error.message })
        else this.setData({ errors: { code: error.message } })
      } finally {
        this.setData({ busy: false })
      }
    },

    done() {
      wx.redirectTo({ url: this.next })
    },
  },
})
