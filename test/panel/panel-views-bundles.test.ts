import { expect } from 'chai';
import { measureBundles } from '../../bench/scenarios/panel-bundles';

describe('panel bundles of the Scripts, Stories and Settings views', () => {
  it('loads each new view in its own lazy chunk, outside the initial JavaScript', () => {
    const measured = measureBundles();
    for (const view of ['scripts-view', 'stories-view', 'settings-view']) {
      const chunk = measured.bundles.find((bundle) => bundle.file.startsWith(`chunks/${view}-`));
      expect(chunk, view).to.not.equal(undefined);
      expect(measured.initial, view).to.not.include(chunk!.file);
    }
  });
});
