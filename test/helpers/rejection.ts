import { expect } from 'chai';

/** What `promise` rejects with, checked to be a `type`: the test fails when it resolves or rejects with anything else. */
export async function rejectionOf<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error, 'the promise should have been rejected').to.be.instanceOf(type);
  return error as E;
}
