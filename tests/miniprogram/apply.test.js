// The consent text and the form: what is sent, how refusals are shown, and a retry that files once.
const path = require('path')
const { RIG, ROOT, newIdNumber, signedInPhone, fillForm } = require('./support/phone.js')

const config = require(path.join(ROOT, 'config.js'))

const { depot, riders } = RIG.tokens

afterEach(() => {
  if (global.phone) global.phone.closeAll()
})

function posts(phone) {
  return phone.requests.filter((r) => r.method === 'POST' && r.path === '/applications')
}

async function formFor(token) {
  const phone = (global.phone = await signedInPhone())
  await phone.open(`/pages/join/index?token=${token}`)
  await phone.screen.tap('#next')
  const screen = await phone.follow()
  expect(screen.page).toBe('pages/apply/index')
  return { phone, screen }
}

test('the form shows the consent words and the station; submitting sends the contract body and shows 待审核', async () => {
  const { phone, screen } = await formFor(depot)
  const scans = phone.requests.filter((r) => r.path.startsWith('/join/'))
  expect(scans).toHaveLength(1) // the form reuses the join screen: one scan, not two
  const consent = scans[0].answer.consent
  expect(screen.text('#consent-text')).toContain(consent.title)
  expect(screen.text('#station')).toBe('示例速运玄武点部')
  expect(screen.text('#occupation-value')).toBe('快递员')
  expect(screen.has('#employer_name')).toBe(false) // the station has an employer

  const idNumber = await fillForm(screen)
  await screen.tap('#submit')

  const [post] = posts(phone)
  expect(post.body).toEqual({
    join_token: depot,
    full_name: '张三',
    id_number: idNumber,
    occupation: 'courier',
    employment_form: 'platform',
    consent_version: consent.version,
    transfer: false,
  })
  expect(post.headers.Authorization).toMatch(/^Bearer /)
  expect(post.headers['Idempotency-Key']).toMatch(/^[A-Za-z0-9_.:-]{8,128}$/)
  expect(post.status).toBe(201)
  expect(phone.lastNavigation).toEqual({
    how: 'redirectTo',
    url: `/pages/applications/index?submitted=${post.answer.id}`,
  })
  const progress = await phone.follow()
  expect(progress.text('#notice')).toContain('申请已提交')
  expect(progress.text(`#application-${post.answer.id}`)).toContain('待审核')
  expect(progress.text(`#application-${post.answer.id}`)).toContain('南京市快递行业工会联合会')
})

test('a submit whose answer was lost is sent again with the same Idempotency-Key: one application', async () => {
  const { phone, screen } = await formFor(depot)
  await fillForm(screen)
  phone.loseNext('POST', '/applications', 'after')
  await screen.tap('#submit')

  expect(screen.text('#message')).toBe('网络连接失败，请检查网络后重试')
  expect(phone.navigations).toHaveLength(1) // still on the form
  await screen.tap('#submit')

  const [lost, retried] = posts(phone)
  expect(lost.lost).toBe('after')
  expect(lost.status).toBe(201) // the server had filed it
  expect(retried.headers['Idempotency-Key']).toBe(lost.headers['Idempotency-Key'])
  expect(retried.status).toBe(201)
  expect(retried.answer.id).toBe(lost.answer.id)
  const progress = await phone.follow()
  expect(progress.data.items.map((item) => item.id)).toEqual([lost.answer.id])
  expect(phone.wx.getStorageSync('ruhui.pending_submission')).toBe('')
})

test('a corrected form after a refusal is a new submission with a new key', async () => {
  const { phone, screen } = await formFor(depot)
  await fillForm(screen, { idNumber: '320102199001011230' }) // a wrong check digit
  await screen.tap('#submit')
  await screen.type('#id_number', newIdNumber())
  await screen.tap('#submit')

  const [refused, filed] = posts(phone)
  expect(refused.status).toBe(422)
  expect(filed.status).toBe(201)
  expect(filed.headers['Idempotency-Key']).not.toBe(refused.headers['Idempotency-Key'])
})

test('the server’s validation errors are shown beside their fields, in its words', async () => {
  const { phone, screen } = await formFor(depot)
  await fillForm(screen, { name: 'X', idNumber: '320102199001011230' })
  await screen.tap('#submit')

  const [post] = posts(phone)
  expect(post.status).toBe(422)
  expect(Object.keys(post.answer.errors).sort()).toEqual(['full_name', 'id_number'])
  expect(screen.text('#full_name-error')).toBe(post.answer.errors.full_name.join('；'))
  expect(screen.text('#id_number-error')).toBe(post.answer.errors.id_number.join('；'))
  expect(screen.text('#message')).toBe(post.answer.message)
  expect(screen.has('#employment_form-error')).toBe(false)
})

test('what the form can tell by itself is said beside the field before anything is sent', async () => {
  const { phone, screen } = await formFor(depot)
  await fillForm(screen, { form: null, agree: false })
  await screen.tap('#submit')

  expect(posts(phone)).toEqual([])
  expect(screen.text('#employment_form-error')).toBe('请选择用工形式')
  expect(screen.text('#consent-error')).toMatch(/^请阅读并同意《.+》$/)
})

test('a station without an employer asks for 工作单位 and sends it', async () => {
  const { phone, screen } = await formFor(riders)
  expect(screen.text('#occupation-value')).toBe('网约送餐员')
  await screen.type('#employer_name', '某外卖平台')
  await fillForm(screen)
  await screen.tap('#submit')

  const [post] = posts(phone)
  expect(post.body.employer_name).toBe('某外卖平台')
  expect(post.body.occupation).toBe('food_delivery_rider')
  expect(post.status).toBe(201)
})

test('a second open application is refused beside the ID number', async () => {
  const { phone, screen } = await formFor(depot)
  const idNumber = await fillForm(screen)
  await screen.tap('#submit')
  phone.closeAll()
  await phone.open(`/pages/apply/index?token=${depot}`)
  await fillForm(phone.screen, { idNumber })
  await phone.screen.tap('#submit')

  const second = posts(phone)[1]
  expect(second.status).toBe(409)
  expect(second.answer.code).toBe('application_open')
  expect(phone.screen.text('#id_number-error')).toBe(second.answer.message)
})

test('with a decision template configured, the first submit tap asks for one WeChat notice', async () => {
  const { phone, screen } = await formFor(depot)
  expect(config.decisionTemplateId).toBe('') // the shipped config: SMS only, nothing asked
  config.decisionTemplateId = 'decision-template-id'
  try {
    await fillForm(screen, { agree: false })
    await screen.tap('#submit')
    await screen.tick('#consent', ['agree'])
    await screen.tap('#submit')
  } finally {
    config.decisionTemplateId = ''
  }
  expect(phone.subscriptions).toEqual([['decision-template-id']])
  expect(posts(phone).map((r) => r.status)).toEqual([201])
})
