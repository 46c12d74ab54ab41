#!/usr/bin/env node
// Checked-in entry point: npm links bins at install time, before dist/ is built.
import '../dist/bin.js';
