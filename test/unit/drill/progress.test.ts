import assert from 'node:assert/strict';
import { PlainProgress, TerminalProgress, createProgress, type DrillProgress } from '../../../src/drill/progress.js';

const steps = ['promote', 'cut-primary', 'verify-dr', 'failback'];

describe('drill progress', () => {
  it('plain: one line per event with the elapsed time, untrusted text escaped', () => {
    let now = 1_000_000;
    const out: string[] = [];
    const p: DrillProgress = new PlainProgress({ slaMs: 100_000, steps, tty: false, write: (s) => out.push(s), clock: () => now });
    p.stepStarted('promote');
    now += 2_500;
    p.stepFinished('promote', 'pass', 2.5, 'promoted revision 2\nsecond line');
    p.cutAt(now);
    p.note('status says \x1b[2Jhello');
    p.verifiedAt?.(now + 1_250);
    assert.deepEqual(out, [
      'drill [   0.0 s] promote: started\n',
      'drill [   2.5 s] promote: pass in 2.5 s: promoted revision 2\n',
      'drill [   2.5 s] primary is cut off; SLA 100 s starts now\n',
      'drill [   2.5 s] status says \\x1b[2Jhello\n',
      'drill [   2.5 s] DR verified 1.25 s after the cut (RTO)\n',
    ]);
  });

  it('terminal: lines longer than the terminal are cut, so a redraw never miscounts wrapped lines', () => {
    const p = new TerminalProgress({ slaMs: 100_000, steps, tty: true, write: () => {}, columns: 40, intervalMs: 60_000 });
    try {
      p.stepFinished('promote', 'fail', 1, 'x'.repeat(200));
      assert.ok(p.frame().every((l) => [...l].length <= 39));
    } finally {
      p.close();
    }
  });

  it('terminal: every step with its state and time, and the time since the cut against the SLA', () => {
    let now = 0;
    const out: string[] = [];
    const p = new TerminalProgress({ slaMs: 100_000, steps, tty: true, write: (s) => out.push(s), clock: () => now, intervalMs: 60_000 });
    try {
      p.stepStarted('promote');
      now = 3_000;
      p.stepFinished('promote', 'pass', 3, 'in sync');
      p.stepStarted('cut-primary');
      p.cutAt(now);
      p.stepFinished('cut-primary', 'pass', 0.2, '');
      p.stepStarted('verify-dr');
      now = 53_000;
      const frame = p.frame();
      assert.equal(frame[0], '  ✓ promote         3.0 s  in sync');
      assert.equal(frame[2], '  … verify-dr      50.0 s');
      assert.equal(frame[3], '    failback             ');
      assert.equal(frame[4], '  since the cut   50.0 s of the 100 s SLA [##########..........]');
      now = 130_000;
      assert.equal(p.frame()[4], `  since the cut  127.0 s of the 100 s SLA [${'#'.repeat(20)}] SLA BREACHED`);
      // Once DR is verified the SLA clock stops at the RTO.
      p.verifiedAt(3_750);
      assert.equal(p.frame()[4], '  DR verified 0.75 s after the cut (RTO), SLA 100 s');
      // Redraws move the cursor up over the previous block and clear it.
      assert.ok(out.at(-1)!.startsWith('\x1b[5A\x1b[J'), JSON.stringify(out.at(-1)));
    } finally {
      p.close();
    }
  });

  it('createProgress picks the terminal form only for a TTY', () => {
    const plain = createProgress({ slaMs: 1000, steps, tty: false, write: () => {} });
    assert.ok(plain instanceof PlainProgress);
    const tty = createProgress({ slaMs: 1000, steps, tty: true, write: () => {} });
    assert.ok(tty instanceof TerminalProgress);
    tty.close();
  });
});
