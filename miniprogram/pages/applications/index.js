// The worker's applications and where each stands; withdraw an open one, correct a returned one.
const api = require('../../utils/api.js')
const session = require('../../utils/session.js')
const tokens = require('../../utils/tokens.js')
const { APPLICATION_STATUS, dateOnly } = require('../../utils/labels.js')
const { toSignIn } = require('../../utils/navigation.js')

const HERE = '/pages/applications/index'

function shown(application) {
  return {
    id: application.id,
    status: application.status,
    statusLabel: APPLICATION_STATUS[application.status] || application.status,
    union: application.union.name,
    station: application.station.name,
    submittedOn: dateOnly(application.submitted_at),
    dueOn: dateOnly(application.due_at),
    reason: application.decision_reason || '',
    memberNo: application.member_no || '',
    open: application.status === 'pending' || application.status === 'returned',
  }
}

Component({
  data: {
    state: 'loading', // loading | ready | failed
    items: [],
    notice: '',
    message: '',
  },

  methods: {
    onLoad(options) {
      if (options && options.submitted) this.setData({ notice: '申请已提交，工会审核后会通知您。' })
    },

    onShow() {
      if (!session.signedIn()) {
        toSignIn(HERE)
        return
      }
      this.load()
    },

    async load() {
      try {
        const page = await api.myApplications()
        this.setData({ state: 'ready', items: page.items.map(shown), message: '' })
      } catch (error) {
        if (error.signedOut) toSignIn(HERE)
        else this.setData({ state: 'failed', message: error.message })
      }
    },

    withdraw(event) {
      const id = event.currentTarget.dataset.id
      wx.showModal({
        title: '撤回申请',
        content: '撤回后这份申请不再办理，需要时可以重新扫码申请。确定撤回吗？',
        confirmText: '撤回',
        success: async (res) => {
          if (!res.confirm) return
          try {
            await api.withdrawApplication(id)
            this.setData({ notice: '申请已撤回。' })
            await this.load()
          } catch (error) {
            if (error.signedOut) toSignIn(HERE)
            else this.setData({ message: error.message })
          }
        },
      })
    },

    correct(event) {
      const id = event.currentTarget.dataset.id
      const token = tokens.tokenOf(id)
      const query = token ? `application=${id}&token=${token}` : `application=${id}`
      wx.navigateTo({ url: `/pages/apply/index?${query}` })
    },

    openCard() {
      wx.navigateTo({ url: '/pages/card/index' })
    },

    signOut() {
      api.signOut()
      wx.reLaunch({ url: '/pages/join/index' })
    },
  },
})
