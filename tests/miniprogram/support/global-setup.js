// Starts rig.py (this app on a real port, the fake WeChat server, the control port) for the whole run.
const { spawn } = require('child_process')
const fs = require('fs')
const path = require('path')

const ROOT = path.resolve(__dirname, '../../..')

module.exports = async () => {
  const python = process.env.RUHUI_PYTHON || path.join(ROOT, '.venv', 'bin', 'python')
  if (!fs.existsSync(python)) {
    throw new Error(`The mini-program tests start the app with ${python}: run \`make install-dev\` first.`)
  }
  const rig = spawn(python, ['-m', 'tests.miniprogram.rig'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, RUHUI_ENV: 'test' },
  })
  globalThis.__RUHUI_RIG__ = rig
  const line = await new Promise((resolve, reject) => {
    let out = ''
    rig.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    rig.on('exit', (code) => reject(new Error(`rig.py exited (${code}) before it was ready`)))
  })
  process.env.RUHUI_RIG = line
}
