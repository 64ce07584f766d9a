// Opening the mini-program from each kind of code, and the first screen it shows.
const { Phone, RIG } = require('./support/phone.js')

const { depot, revoked, expired } = RIG.tokens

afterEach(() => {
  if (global.phone) global.phone.closeAll()
})

function joinRequests(phone) {
  return phone.requests.filter((r) => r.path.startsWith('/join/'))
}

test('a mini-program code opens the station: the scene is the token, URL-encoded by WeChat', async () => {
  const phone = (global.phone = new Phone())
  const screen = await phone.open(`/pages/join/index?scene=${encodeURIComponent(depot)}`)

  expect(screen.text('#station')).toContain('示例速运玄武点部')
  expect(screen.text('#employer')).toBe('示例速运南京分公司')
  expect(screen.text('#union')).toBe('南京市快递行业工会联合会')
  const [scan] = joinRequests(phone)
  expect(scan.method).toBe('GET')
  expect(scan.path).toBe(`/join/${depot}`)
  expect(scan.headers['X-Device-Id']).toMatch(/^mp-[A-Za-z0-9]{24}$/)
  expect(scan.status).toBe(200)
})

test('the ordinary QR code of /j/{token} opens the same station (options.q, the link URL-encoded)', async () => {
  const phone = (global.phone = new Phone())
  const link = `${RIG.base}/j/${depot}`
  const screen = await phone.open(`/pages/join/index?q=${encodeURIComponent(link)}&scancode_time=1767225600`)

  expect(screen.text('#station')).toContain('示例速运玄武点部')
  expect(joinRequests(phone).map((r) => r.path)).toEqual([`/join/${depot}`])
})

test("the landing page's link opens it with options.token, and one device keeps one X-Device-Id", async () => {
  const phone = (global.phone = new Phone())
  await phone.open(`/pages/join/index?token=${depot}`)
  phone.closeAll()
  const again = await phone.open(`/pages/join/index?token=${depot}`)

  expect(again.text('#union')).toBe('南京市快递行业工会联合会')
  const ids = joinRequests(phone).map((r) => r.headers['X-Device-Id'])
  expect(ids).toHaveLength(2)
  expect(ids[0]).toBe(ids[1])
  expect(new Phone().wx.getStorageSync('ruhui.device_id')).toBe('') // another phone: another id later
})

test.each([
  ['revoked', revoked, 410],
  ['expired', expired, 410],
  ['unknown', 'NoSuchCode123', 404],
])('a %s code shows the envelope message and no way forward', async (_name, token, status) => {
  const phone = (global.phone = new Phone())
  const screen = await phone.open(`/pages/join/index?token=${token}`)

  const [scan] = joinRequests(phone)
  expect(scan.status).toBe(status)
  expect(screen.text('#error')).toBe(scan.answer.message)
  expect(scan.answer.message).toMatch(/[\u4e00-\u9fff]/)
  expect(screen.has('#next')).toBe(false)
})

test('opened from the menu without a code, it says to scan one and asks the server nothing', async () => {
  const phone = (global.phone = new Phone())
  const screen = await phone.open('/pages/join/index')

  expect(screen.text('#none')).toContain('扫描')
  expect(phone.requests).toEqual([])
})

test('a network failure shows the message and 重试 loads the station', async () => {
  const phone = (global.phone = new Phone())
  phone.loseNext('GET', `/join/${depot}`, 'before')
  const screen = await phone.open(`/pages/join/index?token=${depot}`)
  expect(screen.text('#error')).toBe('网络连接失败，请检查网络后重试')

  await screen.tap('#retry')
  expect(screen.text('#station')).toContain('示例速运玄武点部')
})

test('下一步 leads a person who is not signed in to the sign-in page, and then to the form', async () => {
  const phone = (global.phone = new Phone())
  const screen = await phone.open(`/pages/join/index?token=${depot}`)
  await screen.tap('#next')

  const [navigation] = phone.navigations
  expect(navigation.how).toBe('navigateTo')
  expect(navigation.url).toBe(
    `/pages/signin/index?next=${encodeURIComponent(`/pages/apply/index?token=${depot}`)}`,
  )
})
