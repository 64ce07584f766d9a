// Words the pages show for the API's codes (the API's own words come in the error envelope).
const APPLICATION_STATUS = {
  pending: '待审核',
  approved: '已通过',
  returned: '已退回',
  rejected: '未通过',
  withdrawn: '已撤回',
}

const MEMBERSHIP_STATUS = {
  active: '正常',
  retained: '保留会籍',
  transferred_out: '已转出',
  withdrawn: '已退会',
  removed: '已除名',
}

function dateOnly(isoTime) {
  // The server writes UTC; a worker reads the China date.
  const time = Date.parse(isoTime)
  if (Number.isNaN(time)) return ''
  const china = new Date(time + 8 * 3600 * 1000)
  const month = `${china.getUTCMonth() + 1}`.padStart(2, '0')
  const day = `${china.getUTCDate()}`.padStart(2, '0')
  return `${china.getUTCFullYear()}-${month}-${day}`
}

module.exports = { APPLICATION_STATUS, MEMBERSHIP_STATUS, dateOnly }
