with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        order_id,
        order_date,
        customer_id,
        amount,
        _source_file,
        _loaded_at
    from source

)

select * from renamed
