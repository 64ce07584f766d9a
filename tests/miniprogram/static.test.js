// The mini-program as WeChat DevTools will build and upload it: WeChat's own compilers accept every
// WXML and WXSS file, pages are Component()s, the config is one file, third-party code comes from npm.
const fs = require('fs')
const os = require('os')
const path = require('path')
const wcc = require('miniprogram-compiler/src/wcc')
const wcsc = require('miniprogram-compiler/src/wcsc')

const REPO = path.resolve(__dirname, '../..')
const ROOT = path.join(REPO, 'miniprogram')
const appJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const read = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8')

function filesUnder(dir, ext) {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name)
    if (entry.isDirectory()) return filesUnder(rel, ext)
    return entry.name.endsWith(ext) ? [rel] : []
  })
}

test('wcc (WeChat’s WXML compiler, Linux build from miniprogram-compiler) compiles every page', () => {
  const wxml = filesUnder('.', '.wxml').map((f) => f.replace(/\.wxml$/, '')).sort()
  expect(wxml).toEqual([...appJson.pages].sort())
  const compiled = wcc(ROOT, wxml, [], {})
  wxml.forEach((page) => expect(compiled).toContain(`${page}.wxml`))
})

test.each(['app', ...appJson.pages])('wcsc (WeChat’s WXSS compiler) compiles %s.wxss', (file) => {
  const compiled = wcsc(ROOT, [file], {})
  expect(compiled).not.toBeInstanceOf(Error)
  expect(typeof compiled.comm).toBe('string')
})

test('the compilers do refuse broken files (so the two tests above can fail)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ruhui-wxml-'))
  fs.writeFileSync(path.join(dir, 'broken.wxml'), '<view><text>{{a}</view>')
  fs.writeFileSync(path.join(dir, 'broken.wxss'), '.a { color: red; ')
  expect(() => wcc(dir, ['broken'], [], {})).toThrow(/编译 .wxml 文件错误/)
  expect(wcsc(dir, ['broken'], {})).toBeInstanceOf(Error)
})

test.each(appJson.pages)('%s is a Component() page with its four files', (page) => {
  const js = read(`${page}.js`)
  expect(js).toMatch(/^Component\(\{/m)
  expect(js).not.toMatch(/\bPage\(/)
  expect(JSON.parse(read(`${page}.json`)).usingComponents).toEqual({})
  // WeChat honours ID selectors only in Page() roots: Component() pages style by class
  expect(read(`${page}.wxss`).replace(/\{[^}]*\}/g, '{}')).not.toMatch(/#/)
  // every input says what it is for, to a screen reader too
  const inputs = read(`${page}.wxml`).match(/<input[^>]*>/g) || []
  inputs.forEach((input) => expect(input).toMatch(/aria-label="[^"]+"/))
})

test('app.json turns on the privacy check and lists the pages the backend opens', () => {
  expect(appJson.__usePrivacyCheck__).toBe(true)
  const settings = fs.readFileSync(path.join(REPO, 'app/config.py'), 'utf8')
  const defaults = ['join_miniprogram_page', 'wechat_decision_page'].map(
    (name) => new RegExp(`${name}: str = "([^"]+)"`).exec(settings)[1],
  )
  expect(defaults).toEqual(['pages/join/index', 'pages/applications/index'])
  defaults.forEach((page) => expect(appJson.pages).toContain(page))
  expect(appJson.pages[0]).toBe('pages/join/index') // opened when no page is named
})

test('config.js is the one place for the app id and API; project.config.json agrees', () => {
  const config = require(path.join(ROOT, 'config.js'))
  const project = JSON.parse(read('project.config.json'))
  expect(project.appid).toBe(config.appId)
  expect(config.apiBaseUrl).toMatch(/^https:\/\/[^/]+\/api\/v1$/)
  const sources = [...filesUnder('pages', '.js'), ...filesUnder('utils', '.js'), 'app.js']
  sources.forEach((file) => expect(read(file)).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/))
})

test('third-party code comes from npm, never copied in: the card QR encoder is a pinned dependency DevTools builds', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'))
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8'))
  expect(pkg.dependencies).toEqual({ 'qrcode-generator': lock.packages['node_modules/qrcode-generator'].version })
  expect(read('utils/card-qr.js')).toMatch(/require\('qrcode-generator'\)/)
  const project = JSON.parse(read('project.config.json'))
  expect(project.setting.packNpmManually).toBe(true)
  expect(project.setting.packNpmRelationList).toEqual([{ packageJsonPath: '../package.json', miniprogramNpmDistDir: './' }])
  expect(fs.existsSync(path.join(ROOT, 'vendor'))).toBe(false)
  expect(fs.existsSync(path.join(ROOT, 'miniprogram_npm'))).toBe(false)
})
