// The consent text and the form; submits a new application, or corrects a returned one (?application=id).
const api = require('../../utils/api.js')
const config = require('../../config.js')
const session = require('../../utils/session.js')
const submission = require('../../utils/submission.js')
const tokens = require('../../utils/tokens.js')
const { toSignIn } = require('../../utils/navigation.js')

// Refusals about the person behind the ID number: shown beside that field.
const IDENTITY_CODES = [
  'application_open',
  'already_member',
  'identity_in_use',
  'identity_attempts_exceeded',
  'idempotency_key_reused',
]
const FIELDS = ['full_name', 'id_number', 'occupation', 'employment_form', 'employer_name', 'consent_version']

function paragraphs(text) {
  return (text || '').split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean)
}

Component({
  data: {
    state: 'loading', // loading | ready | failed
    resubmitting: false,
    returned: null,
    station: null,
    union: null,
    askEmployer: false,
    consent: null,
    consentParagraphs: [],
    occupations: [],
    occupationIndex: 0,
    employmentForms: [],
    employmentFormIndex: -1,
    fullName: '',
    idNumber: '',
    employerName: '',
    agreed: false,
    busy: false,
    errors: {},
    message: '',
  },

  methods: {
    onLoad(options) {
      this.token = options.token || null
      this.applicationId = options.application || null
      if (this.applicationId && !this.token) this.token = tokens.tokenOf(this.applicationId)
      const here = this.applicationId
        ? `/pages/apply/index?application=${this.applicationId}`
        : `/pages/apply/index?token=${this.token}`
      if (!session.signedIn()) {
        toSignIn(here)
        return
      }
      this.here = here
      this.load()
    },

    async load() {
      if (!this.token) {
        this.setData({ state: 'failed', message: '请重新扫描站点的入会二维码后再修改申请。' })
        return
      }
      this.setData({ state: 'loading', message: '' })
      try {
        const cached = getApp().globalData.joinScreen
        const screen = cached && cached.token === this.token ? cached.screen : await api.openJoinCode(this.token)
        const returned = this.applicationId ? await api.application(this.applicationId) : null
        this.show(screen, returned)
      } catch (error) {
        if (error.signedOut) {
          toSignIn(this.here)
          return
        }
        this.setData({ state: 'failed', message: error.message })
      }
    },

    show(screen, returned) {
      const occupation = returned ? returned.occupation : screen.station.occupation
      const form = returned ? returned.employment_form : null
      this.screen = screen
      this.setData({
        state: 'ready',
        resubmitting: Boolean(returned),
        returned,
        station: screen.station,
        union: screen.union_preview,
        askEmployer: !screen.employer,
        consent: screen.consent,
        consentParagraphs: paragraphs(screen.consent.text),
        occupations: screen.occupations,
        occupationIndex: Math.max(0, screen.occupations.findIndex((o) => o.code === occupation)),
        employmentForms: screen.employment_forms,
        employmentFormIndex: screen.employment_forms.findIndex((f) => f.code === form),
        employerName: (returned && returned.employer_name) || '',
      })
    },

    onFullName(event) {
      this.setData({ fullName: event.detail.value })
    },

    onIdNumber(event) {
      this.setData({ idNumber: event.detail.value })
    },

    onEmployerName(event) {
      this.setData({ employerName: event.detail.value })
    },

    onOccupation(event) {
      this.setData({ occupationIndex: Number(event.detail.value) })
    },

    onEmploymentForm(event) {
      this.setData({ employmentFormIndex: Number(event.detail.value) })
    },

    onConsent(event) {
      this.setData({ agreed: (event.detail.value || []).includes('agree') })
    },

    body() {
      const data = this.data
      const body = {
        join_token: this.token,
        full_name: data.fullName.trim(),
        id_number: data.idNumber.trim(),
        occupation: data.occupations[data.occupationIndex].code,
        employment_form: data.employmentFormIndex >= 0 ? data.employmentForms[data.employmentFormIndex].code : '',
        consent_version: data.consent.version,
        transfer: false,
      }
      if (data.askEmployer && data.employerName.trim()) body.employer_name = data.employerName.trim()
      return body
    },

    checked() {
      const errors = {}
      if (this.data.employmentFormIndex < 0) errors.employment_form = '请选择用工形式'
      if (!this.data.agreed) errors.consent = `请阅读并同意《${this.data.consent.title}》`
      return errors
    },

    // WeChat delivers a subscribe message only after the person allowed it, from a tap: asked here, once.
    askForDecisionNotice() {
      if (!config.decisionTemplateId || this.noticeAsked || !wx.requestSubscribeMessage) return
      this.noticeAsked = true
      wx.requestSubscribeMessage({ tmplIds: [config.decisionTemplateId], fail: () => {} })
    },

    async submit() {
      if (this.data.busy) return
      this.askForDecisionNotice()
      const errors = this.checked()
      this.setData({ errors, message: Object.keys(errors).length ? '请按提示修改后再提交' : '' })
      if (Object.keys(errors).length) return
      const body = this.body()
      this.setData({ busy: true })
      try {
        const application = this.applicationId
          ? await this.resubmit(body)
          : await api.submitApplication(body, submission.keyFor(body))
        submission.settled()
        tokens.remember(application.id, this.token)
        wx.redirectTo({ url: `/pages/applications/index?submitted=${application.id}` })
      } catch (error) {
        this.refused(error)
      } finally {
        this.setData({ busy: false })
      }
    },

    async resubmit(body) {
      try {
        return await api.resubmitApplication(this.applicationId, body)
      } catch (error) {
        // A correction that reached the server before the network failed is pending already.
        if (error.code === 'invalid_state') {
          const now = await api.application(this.applicationId)
          if (now.status === 'pending') return now
        }
        throw error
      }
    },

    refused(error) {
      if (error.signedOut) {
        toSignIn(this.here)
        return
      }
      const errors = {}
      Object.keys(error.errors).forEach((field) => {
        const messages = [].concat(error.errors[field]).join('；')
        errors[FIELDS.includes(field) ? field.replace('consent_version', 'consent') : 'other'] = messages
      })
      if (IDENTITY_CODES.includes(error.code)) errors.id_number = error.message
      this.setData({ errors, message: error.message })
    },
  },
})
