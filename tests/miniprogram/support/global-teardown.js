// Stops rig.py: it serves until its standard input closes.
module.exports = async () => {
  const rig = globalThis.__RUHUI_RIG__
  if (!rig) return
  const exited = new Promise((resolve) => rig.on('exit', resolve))
  rig.stdin.end()
  const timer = setTimeout(() => rig.kill('SIGTERM'), 10000)
  await exited
  clearTimeout(timer)
}
