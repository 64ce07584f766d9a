// The app: holds what the pages share while it runs (the join screen last opened).
App({
  globalData: {
    // GET /join/{token}'s answer for the code being joined, so the form does not count a second scan.
    joinScreen: null,
  },
})
