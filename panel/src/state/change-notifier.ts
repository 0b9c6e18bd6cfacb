/** A store views subscribe to: each change calls every listener; subscribe() answers the unsubscribe. */
export class ChangeNotifier {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
