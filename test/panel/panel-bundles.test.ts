import { expect } from 'chai';
import { INITIAL_GZIP_BUDGET_BYTES, measureBundles, staticImports } from '../../bench/scenarios/panel-bundles';

describe('panel bundles', () => {
  it('finds static imports but not dynamic ones in minified ES modules', () => {
    const source = 'import{a as b}from"./chunks/chunk-A.js";import"./chunks/chunk-B.js";var c=()=>import("./chunks/view-C.js");';
    expect(staticImports(source)).to.deep.equal(['./chunks/chunk-A.js', './chunks/chunk-B.js']);
  });

  it('keeps the initial JavaScript under 100 KB gzipped: the shell and the Dashboard in one chunk, every other view in its own lazily loaded chunk', () => {
    const measured = measureBundles();
    expect(measured.initial[0]).to.equal('main.js');
    expect(measured.initialGzipBytes).to.be.below(INITIAL_GZIP_BUDGET_BYTES);
    expect(measured.initial.filter((file) => file.endsWith('.js')), 'main.js and one chunk: no waterfall of small modules').to.have.length(2);
    expect(measured.initial, 'the boot script is inline in the page').to.include('index.html (boot script)');
    expect(measured.bundles.find((bundle) => bundle.file.startsWith('chunks/dashboard-view-')), 'the Dashboard is no chunk of its own').to.equal(undefined);
    for (const view of ['library-view', 'devices-view', 'device-detail-view', 'system-view', 'auth-view']) {
      const chunk = measured.bundles.find((bundle) => bundle.file.startsWith(`chunks/${view}-`));
      expect(chunk, view).to.not.equal(undefined);
      expect(measured.initial, view).to.not.include(chunk!.file);
    }
  });
});
