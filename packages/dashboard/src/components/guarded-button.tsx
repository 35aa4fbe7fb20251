/**
 * @module guarded-button
 * A button that the credential may not be allowed to use: disabled, with the reason in its tooltip and read out with
 * it (`aria-describedby`).
 */
import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

export function GuardedButton(props: {
  denied: string | undefined;
  onClick: () => void;
  children: ComponentChildren;
  class?: string;
  testId?: string;
  busy?: boolean;
}) {
  const id = useId();
  return (
    <>
      <button
        type="button"
        class={`btn small ${props.class ?? ''}`}
        disabled={props.denied !== undefined || props.busy}
        title={props.denied}
        aria-describedby={props.denied ? id : undefined}
        data-testid={props.testId}
        onClick={props.onClick}
      >
        {props.children}
      </button>
      {props.denied && (
        <span id={id} class="sr-only">
          {props.denied}
        </span>
      )}
    </>
  );
}
