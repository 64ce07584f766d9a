// Following an application: where it stands, withdrawing it, correcting a returned one; and the card.
const path = require('path')
const { ROOT, RIG, control, decide, signedInPhone, fillForm } = require('./support/phone.js')

const clock = require(path.join(ROOT, 'utils/clock.js'))
const config = require(path.join(ROOT, 'config.js'))

const { depot } = RIG.tokens

afterEach(() => {
  if (global.phone) global.phone.closeAll()
})

// A signed-in worker who has filed one application through the depot's code; back on the progress page.
async function filed() {
  const phone = (global.phone = await signedInPhone())
  await phone.open(`/pages/join/index?token=${depot}`)
  await phone.screen.tap('#next')
  const form = await phone.follow()
  const idNumber = await fillForm(form, { name: '李四' })
  await form.tap('#submit')
  const progress = await phone.follow()
  const id = progress.data.items[0].id
  phone.requests.length = 0
  return { phone, progress, id, idNumber }
}

test('withdrawing asks first, then the application shows 已撤回 and no more buttons', async () => {
  const { phone, progress, id } = await filed()
  phone.modalAnswers.push(false)
  await progress.tap(`#withdraw-${id}`)
  expect(phone.modals[0].title).toBe('撤回申请')
  expect(phone.requests).toEqual([]) // the person said no

  await progress.tap(`#withdraw-${id}`)
  const [withdraw] = phone.requests.filter((r) => r.method === 'POST')
  expect(withdraw.path).toBe(`/applications/${id}/withdraw`)
  expect(withdraw.status).toBe(200)
  expect(progress.text(`#application-${id}`)).toContain('已撤回')
  expect(progress.has(`#withdraw-${id}`)).toBe(false)
  expect(progress.text('#notice')).toBe('申请已撤回。')
})

test('a returned application shows the reason and, corrected, goes back to 待审核', async () => {
  const { phone, progress, id, idNumber } = await filed()
  await decide(id, 'return', '请填写身份证上的姓名')
  phone.closeAll()
  const list = await phone.open('/pages/applications/index')
  expect(list.text(`#application-${id}`)).toContain('已退回')
  expect(list.text(`#application-${id}`)).toContain('请填写身份证上的姓名')
  expect(progress.has(`#correct-${id}`)).toBe(false) // the old screen knew nothing of it

  await list.tap(`#correct-${id}`)
  expect(phone.lastNavigation.url).toBe(`/pages/apply/index?application=${id}&token=${depot}`)
  const form = await phone.follow()
  expect(form.text('#reason')).toBe('请填写身份证上的姓名')
  expect(form.text('#returned')).toContain('李*')
  expect(form.text('#employment_form-value')).toBe('平台/新就业形态') // kept from the application
  await form.type('#full_name', '李四')
  await form.type('#id_number', idNumber)
  await form.tick('#consent', ['agree'])
  await form.tap('#submit')

  const put = phone.requests.find((r) => r.method === 'PUT')
  expect(put.path).toBe(`/applications/${id}`)
  expect(put.body).toMatchObject({ join_token: depot, full_name: '李四', id_number: idNumber, employment_form: 'platform' })
  expect(put.status).toBe(200)
  expect(put.answer.status).toBe('pending')
  const after = await phone.follow()
  expect(after.text(`#application-${id}`)).toContain('待审核')
})

test('a resubmission whose answer was lost is recognised as done when sent again', async () => {
  const { phone, id, idNumber } = await filed()
  await decide(id, 'return', '请核对职业')
  phone.closeAll()
  const form = await phone.open(`/pages/apply/index?application=${id}&token=${depot}`)
  await form.type('#full_name', '李四')
  await form.type('#id_number', idNumber)
  await form.tick('#consent', ['agree'])
  phone.loseNext('PUT', `/applications/${id}`, 'after')
  await form.tap('#submit')
  expect(form.text('#message')).toBe('网络连接失败，请检查网络后重试')
  await form.tap('#submit')

  const puts = phone.requests.filter((r) => r.method === 'PUT')
  expect(puts.map((r) => r.status)).toEqual([200, 409])
  expect(phone.lastNavigation.url).toBe(`/pages/applications/index?submitted=${id}`)
})

test('the card: number, union and a QR code of a card token a venue can check, renewed before it ends', async () => {
  const { phone, id } = await filed()
  const approved = await decide(id, 'approve')
  const scheduled = []
  const realLater = clock.later
  clock.later = (callback, ms) => {
    scheduled.push({ callback, ms })
    return scheduled.length
  }
  try {
    const list = await phone.open('/pages/applications/index')
    expect(list.text(`#application-${id}`)).toContain(`会员号 ${approved.member_no}`)
    await list.tap(`#card-${id}`)
    const card = await phone.follow()

    expect(card.text('#member-no')).toBe(approved.member_no)
    expect(card.text('#union')).toBe('南京市快递行业工会联合会')
    const first = phone.requests.filter((r) => r.path === '/me/membership')[0].answer
    const shown = await readQr(card)
    expect(shown).toBe(`${config.apiBaseUrl}/cards/${first.card_token}`)
    expect(await check(first.card_token)).toMatchObject({ http: 200, status: 'active', member_no: approved.member_no })

    // The page asks for a new token before this one's five minutes are up, and shows it.
    const renewal = scheduled[scheduled.length - 1]
    expect(renewal.ms).toBeLessThan(config.cardTokenLifetimeSeconds * 1000)
    expect(renewal.ms).toBe((config.cardTokenLifetimeSeconds - config.cardRefreshMarginSeconds) * 1000)
    await sleepSecond() // card tokens carry whole seconds
    renewal.callback()
    await phone.settle()
    const second = phone.requests.filter((r) => r.path === '/me/membership')[1].answer
    expect(second.card_token).not.toBe(first.card_token)
    expect(await readQr(card)).toBe(`${config.apiBaseUrl}/cards/${second.card_token}`)
    expect((await check(second.card_token)).http).toBe(200)
  } finally {
    clock.later = realLater
  }
})

test('someone who is not a member sees the envelope message on the card page', async () => {
  const phone = (global.phone = await signedInPhone())
  const card = await phone.open('/pages/card/index')
  const [membership] = phone.requests
  expect(membership.status).toBe(404)
  expect(membership.answer.code).toBe('not_a_member')
  expect(card.text('#message')).toBe(membership.answer.message)
  expect(card.has('#qr')).toBe(false)
})

async function readQr(card) {
  const uri = card.data.qr
  expect(uri).toMatch(/^data:image\/svg\+xml;base64,/)
  return control.decodeSvg(Buffer.from(uri.split(',')[1], 'base64').toString('ascii'))
}

async function check(cardToken) {
  const { httpJson } = require('./support/phone.js')
  const answer = await httpJson('GET', `${RIG.api}/cards/${cardToken}`)
  return { http: answer.status, ...answer.data }
}

function sleepSecond() {
  return new Promise((resolve) => setTimeout(resolve, 1100))
}
