// The e-member card: number, union, since, and a QR code of a card token that lives five minutes,
// asked for again a minute before it ends (and whenever the card comes back on screen late).
const api = require('../../utils/api.js')
const config = require('../../utils/config-card.js')
const clock = require('../../utils/clock.js')
const { cardQrDataUri } = require('../../utils/card-qr.js')
const { MEMBERSHIP_STATUS, dateOnly } = require('../../utils/labels.js')
const { toSignIn } = require('../../utils/navigation.js')

const HERE = '/pages/card/index'

Component({
  data: {
    state: 'loading', // loading | ready | none | failed
    memberNo: '',
    union: '',
    since: '',
    status: '',
    qr: '',
    message: '',
  },

  methods: {
    onShow() {
      if (!this.fetchedAt || clock.now() - this.fetchedAt >= config.refreshAfterMs) this.load()
      else this.schedule(config.refreshAfterMs - (clock.now() - this.fetchedAt))
    },

    onHide() {
      this.stop()
    },

    onUnload() {
      this.stop()
    },

    stop() {
      if (this.timer) clock.cancel(this.timer)
      this.timer = null
    },

    schedule(ms) {
      this.stop()
      this.timer = clock.later(() => this.load(), ms)
    },

    async load() {
      try {
        const membership = await api.myMembership()
        this.fetchedAt = clock.now()
        this.setData({
          state: 'ready',
          memberNo: membership.member_no,
          union: membership.union.name,
          since: dateOnly(membership.since),
          status: MEMBERSHIP_STATUS[membership.status] || '',
          qr: cardQrDataUri(membership.card_token),
          message: '',
        })
        this.schedule(config.refreshAfterMs)
      } catch (error) {
        if (error.signedOut) {
          toSignIn(HERE)
          return
        }
        const failed = this.data.state === 'ready' ? 'ready' : 'failed'
        this.setData({ state: error.code === 'not_a_member' ? 'none' : failed, message: error.message })
        // A card on screen whose token could not be renewed: try again shortly.
        if (error.status === 0 || error.status >= 500) this.schedule(15000)
      }
    },
  },
})
