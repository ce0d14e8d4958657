#!/usr/bin/env node
'use strict'
// The npm packages of the prebuilt binaries, npm/<platform>/ (one per binary, with os, cpu and libc
// fields), and the main package's optionalDependencies on them.
//
//   node scripts/npm-packages.js check [--binaries]
//       every npm/<platform>/package.json: name durable-fs-<platform>, the main package's version,
//       os/cpu/libc that match the platform name, `main` and `files` naming durable-fs.<platform>.node;
//       with --binaries, that file is present too. Exits 1 on any mismatch.
//   node scripts/npm-packages.js prepublish [DIR]
//       writes optionalDependencies on every platform package, at the main version, into
//       DIR/package.json (default: the repository's). Run by the release workflow before
//       `npm publish`, and by the install test on a packed copy. They are not kept in the repository's
//       package.json: until the platform packages are published, `npm ci` would fail on them.
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const NPM_DIR = path.join(ROOT, 'npm')
const main = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))

// Platform names as lib/binding.js computes them (process.platform, process.arch, libc).
function expected (platform) {
  const [os, cpu, abi] = platform.split('-')
  const libc = os === 'linux' ? { gnu: 'glibc', musl: 'musl' }[abi] : undefined
  return { os: [os], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) }
}

function platforms () {
  return fs.readdirSync(NPM_DIR).filter((d) => fs.existsSync(path.join(NPM_DIR, d, 'package.json'))).sort()
}

function check (withBinaries) {
  const problems = []
  for (const p of platforms()) {
    const pkg = JSON.parse(fs.readFileSync(path.join(NPM_DIR, p, 'package.json'), 'utf8'))
    const file = `durable-fs.${p}.node`
    const want = { name: `durable-fs-${p}`, version: main.version, main: file, files: [file], ...expected(p) }
    for (const [k, v] of Object.entries(want)) {
      if (JSON.stringify(pkg[k]) !== JSON.stringify(v)) problems.push(`npm/${p}/package.json: ${k} is ${JSON.stringify(pkg[k])}, want ${JSON.stringify(v)}`)
    }
    if (!expected(p).libc && pkg.libc) problems.push(`npm/${p}/package.json: libc set on a non-Linux platform`)
    if (withBinaries && !fs.existsSync(path.join(NPM_DIR, p, file))) problems.push(`npm/${p}/${file} missing (npm run build:all)`)
  }
  const targets = (main.napi && main.napi.targets) || []
  if (targets.length !== platforms().length) problems.push(`package.json napi.targets lists ${targets.length} targets, npm/ has ${platforms().length} packages`)
  return problems
}

function optionalDependencies () {
  return Object.fromEntries(platforms().map((p) => [`durable-fs-${p}`, main.version]))
}

function prepublish (dir) {
  const file = path.join(dir, 'package.json')
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
  pkg.optionalDependencies = optionalDependencies()
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
  return pkg.optionalDependencies
}

module.exports = { platforms, check, optionalDependencies, prepublish }

if (require.main === module) {
  const [cmd, arg] = process.argv.slice(2)
  if (cmd === 'check') {
    const problems = check(arg === '--binaries')
    for (const p of problems) console.error(p)
    console.log(problems.length ? `npm packages: ${problems.length} problem(s)` : `npm packages: ${platforms().length} platform packages consistent with package.json ${main.version}`)
    process.exitCode = problems.length ? 1 : 0
  } else if (cmd === 'prepublish') {
    const deps = prepublish(path.resolve(arg || ROOT))
    console.log(`optionalDependencies: ${Object.keys(deps).join(', ')} at ${main.version}`)
  } else {
    console.error('usage: node scripts/npm-packages.js check [--binaries] | prepublish [DIR]')
    process.exitCode = 2
  }
}
