// Time for the pages' timers, in one place so that a test can move it (the card's refresh, the resend wait).
module.exports = {
  now: () => Date.now(),
  later: (callback, ms) => setTimeout(callback, ms),
  cancel: (timer) => clearTimeout(timer),
}
