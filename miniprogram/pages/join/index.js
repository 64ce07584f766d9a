// The first screen after a scan: the station, its employer and the union the application would go to.
const api = require('../../utils/api.js')
const session = require('../../utils/session.js')
const { tokenFromOptions } = require('../../utils/entry.js')

const LAST_TOKEN = 'ruhui.last_join_token'
const DEAD = ['join_code_not_found', 'join_code_revoked', 'join_code_expired']

Component({
  data: {
    state: 'loading', // loading | ready | dead | failed | none
    message: '',
    station: null,
    employer: null,
    union: null,
    signedIn: false,
  },

  methods: {
    onLoad(options) {
      this.token = tokenFromOptions(options)
      this.setData({ signedIn: session.signedIn() })
      if (!this.token) {
        this.setData({ state: 'none' })
        return
      }
      wx.setStorageSync(LAST_TOKEN, this.token)
      this.load()
    },

    onShow() {
      this.setData({ signedIn: session.signedIn() })
    },

    async load() {
      this.setData({ state: 'loading', message: '' })
      try {
        const screen = await api.openJoinCode(this.token)
        getApp().globalData.joinScreen = { token: this.token, screen }
        this.setData({
          state: 'ready',
          station: screen.station,
          employer: screen.employer,
          union: screen.union_preview,
        })
      } catch (error) {
        this.setData({ state: DEAD.includes(error.code) ? 'dead' : 'failed', message: error.message })
      }
    },

    retry() {
      this.load()
    },

    next() {
      const apply = `/pages/apply/index?token=${this.token}`
      if (session.signedIn()) {
        wx.navigateTo({ url: apply })
      } else {
        wx.navigateTo({ url: `/pages/signin/index?next=${encodeURIComponent(apply)}` })
      }
    },

    openMine() {
      const mine = '/pages/applications/index'
      wx.navigateTo({ url: session.signedIn() ? mine : `/pages/signin/index?next=${encodeURIComponent(mine)}` })
    },
  },
})
