import { expect } from 'chai';
import { INITIAL_GZIP_BUDGET_BYTES, measureBundles, staticImports } from '../../bench/scenarios/panel-bundles';

describe('panel bundles', () => {
  it('finds static imports but not dynamic ones in minified ES modules', () => {
    const source = 'import{a as b}from"./chunks/chunk-A.js";import"./chunks/chunk-B.js";var c=()=>import("./chunks/view-C.js");';
    expect(staticImports(source)).to.deep.equal(['./chunks/chunk-A.js', './chunks/chunk-B.js']);
  });

  it('keeps the initial JavaScript under 100 KB gzipped, with every view in its own lazily loaded chunk', () => {
    const measured = measureBundles();
    expect(measured.initial[0]).to.equal('main.js');
    expect(measured.initialGzipBytes).to.be.below(INITIAL_GZIP_BUDGET_BYTES);
    for (const view of ['dashboard-view', 'library-view', 'devices-view', 'device-detail-view', 'system-view', 'auth-view']) {
      const chunk = measured.bundles.find((bundle) => bundle.file.startsWith(`chunks/${view}-`));
      expect(chunk, view).to.not.equal(undefined);
      expect(measured.initial, view).to.not.include(chunk!.file);
    }
  });
});
