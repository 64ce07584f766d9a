// When the card asks for a new card token: a margin before the token's lifetime ends.
const config = require('../config.js')

module.exports = {
  refreshAfterMs: (config.cardTokenLifetimeSeconds - config.cardRefreshMarginSeconds) * 1000,
}
